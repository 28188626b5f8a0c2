import type { DataSource } from 'typeorm';
import { withLogContext } from '../logger';
import type { Logger } from 'pino';
import { KernelQueue } from '../../api';
import type {
  CrashClass, CrashCulprit, CrashInfo, EnforcementState, InstanceAgent, InstanceType, KernelHooks, MaintenanceCalendar, Notifications,
} from '../../api';
import { CrashReport, Instance, instanceView, type CrashSummary, type SupervisorState } from '../entities';
import type { InstanceReadiness } from '../operations/readiness';
import type { KernelConfig } from '../config';
import type { KernelQueues } from '../queues';

export const RESTART_JOB = 'instance.restart';

export interface SupervisorDeps {
  ds: DataSource;
  config: KernelConfig;
  hooks: KernelHooks;
  queues: KernelQueues;
  readiness: InstanceReadiness;
  agent: () => InstanceAgent;
  types: () => InstanceType[];
  notifications: Notifications;
  billingState: (accountId: string) => Promise<EnforcementState>;
  logger: Logger;
  /** Operator windows: a crash on a node in one is recorded, not restarted. */
  maintenance: () => MaintenanceCalendar;
  /** The portal's address, for links in the owner's mail ('' leaves them out). */
  publicUrl: string;
}

/**
 * Crash → classify (once, by the instance's type) → report → onCrash taps → restart with backoff
 * (base × 2^(n-1)), reset after a run that lived long enough, `error` after too many.
 * Suspended accounts are never restarted, nor servers on a node in a maintenance window (the
 * operator is working there: the crash is recorded and the owner told, nothing more).
 */
export class Supervisor {
  constructor(private readonly deps: SupervisorDeps) {
    deps.queues.define<{ instanceId: string; crashId: string }>(RESTART_JOB, KernelQueue.provisioning, (d) => withLogContext({ instanceId: d.instanceId }, () => this.restart(d.instanceId, d.crashId)));
  }

  async crashed(instanceId: string, crash: Omit<CrashInfo, 'classification'>): Promise<CrashReport> {
    const { ds, config } = this.deps;
    const instance = await ds.getRepository(Instance).findOneByOrFail({ id: instanceId });
    const classified = this.classify(instance, crash);
    const culprit = this.blame(instance, { ...crash, classification: classified });
    const suspended = (await this.deps.billingState(instance.ownerId)) === 'suspended';
    const window = await this.deps.maintenance().activeFor(instance.node, crash.at);

    const outcome = await ds.transaction(async (m) => {
      const row = await m.getRepository(Instance).findOne({ where: { id: instanceId }, lock: { mode: 'pessimistic_write' } });
      const prior = await m.getRepository(CrashReport).findOneBy({ instanceId, at: crash.at });
      if (!row || prior) return { report: prior!, scheduled: false };
      const sup = row.supervisor ?? { consecutive: 0, nextRestartAt: null };
      const consecutive = crash.uptimeSeconds >= config.supervisor.resetAfterUptimeSeconds ? 1 : sup.consecutive + 1;
      const giveUp = consecutive > config.supervisor.maxRestarts;
      const delayMs = config.supervisor.backoffBaseSeconds * 1000 * 2 ** (consecutive - 1);
      const restartAt = suspended || giveUp || window ? null : new Date(Date.now() + delayMs);
      const report = await m.getRepository(CrashReport).save(m.getRepository(CrashReport).create({
        instanceId, at: crash.at, exitCode: crash.exitCode, signal: crash.signal, uptimeSeconds: Math.round(crash.uptimeSeconds),
        logTail: crash.logTail, classification: classified, culprit, restartAt,
        supervisorAction: suspended ? 'none_suspended' : window ? 'none_maintenance' : giveUp ? 'error' : `restart_${consecutive}`,
      }));
      const supervisor: SupervisorState = { consecutive, nextRestartAt: restartAt?.toISOString() ?? null };
      const summary: CrashSummary = {
        id: report.id, crashedAt: crash.at.toISOString(), exitCode: crash.exitCode, signal: crash.signal,
        uptimeSeconds: report.uptimeSeconds, classification: classified, culprit, logTail: crash.logTail.slice(-20),
      };
      await m.getRepository(Instance).update(instanceId, { state: giveUp ? 'error' : 'crashed', lastCrash: summary, supervisor });
      return { report, scheduled: restartAt !== null, delayMs };
    });
    if (!outcome.report) throw new Error(`instance ${instanceId} vanished`);
    await this.deps.readiness.lost(instanceId, outcome.report.classification, crash.at);
    if (outcome.scheduled) {
      await this.deps.queues.enqueue(KernelQueue.provisioning, RESTART_JOB, { instanceId, crashId: outcome.report.id }, {
        jobId: `restart-${outcome.report.id}`, delayMs: outcome.delayMs,
      });
    }
    await this.announce(instance, crash, outcome.report);
    return outcome.report;
  }

  /** The delayed restart: only if the instance is still the crashed one and the account may run it. */
  async restart(instanceId: string, crashId: string): Promise<void> {
    const instance = await this.deps.ds.getRepository(Instance).findOneBy({ id: instanceId });
    if (!instance || instance.deletedAt || instance.state !== 'crashed') return;
    if (instance.lastCrash?.id !== crashId) return;
    if ((await this.deps.billingState(instance.ownerId)) === 'suspended') return;
    const window = await this.deps.maintenance().activeFor(instance.node);
    if (window) {
      this.deps.logger.info({ instanceId, windowId: window.id }, 'restart skipped: the node is in a maintenance window');
      return;
    }
    await this.deps.agent().power(instanceView(instance), 'start');
    await this.deps.ds.getRepository(Instance).update(instanceId, { state: 'running' });
  }

  /** The one classification of a crash: its type's, or from the exit code when the type is not enabled. */
  private classify(instance: Instance, crash: Omit<CrashInfo, 'classification'>): CrashClass {
    const type = this.deps.types().find((t) => t.kind === instance.kind && t.type === instance.type);
    if (type) return type.classifyCrash(crash);
    return crash.exitCode !== null && crash.exitCode !== 0 ? 'nonzero_exit' : 'unexpected_exit';
  }

  /** What the type says the log blames; a type that cannot tell (or throws) blames nothing. */
  private blame(instance: Instance, crash: CrashInfo): CrashCulprit | null {
    const type = this.deps.types().find((t) => t.kind === instance.kind && t.type === instance.type);
    try {
      return type?.crashCulprit(crash) ?? null;
    } catch (err) {
      this.deps.logger.warn({ err, instanceId: instance.id }, 'crashCulprit failed');
      return null;
    }
  }

  /** The owner hears of it and onCrash taps see the classified crash; neither can undo the record or the restart. */
  private async announce(instance: Instance, crash: Omit<CrashInfo, 'classification'>, report: CrashReport): Promise<void> {
    await this.tellOwner(instance, report).catch((err) => this.deps.logger.warn({ err }, 'crash notification failed'));
    await this.deps.hooks.onCrash.promise({ ...crash, classification: report.classification, culprit: report.culprit }, instanceView(instance))
      .catch((err) => this.deps.logger.warn({ err, instanceId: instance.id }, 'onCrash tap failed'));
  }

  private async tellOwner(instance: Instance, report: CrashReport): Promise<void> {
    const [owner]: Array<{ email: string }> = await this.deps.ds.query(`SELECT email FROM account WHERE id = $1`, [instance.ownerId]);
    if (!owner) return;
    const next = report.restartAt ? `It will be restarted at ${report.restartAt.toISOString()}.` :
      report.supervisorAction === 'none_maintenance' ? 'Its host is in a maintenance window, so it is not restarted automatically until that is over.' :
      report.supervisorAction === 'error' ? 'It crashed too often in a row and was left stopped; check its logs.' : 'It was not restarted.';
    await this.deps.notifications.sendToOwner({
      to: owner.email, template: 'server_crashed',
      data: {
        instanceId: instance.id, serverName: instance.name, crashId: report.id, classification: report.classification,
        crashedAt: report.at.toISOString(), exitCode: report.exitCode, signal: report.signal, logTail: report.logTail.slice(-10), next,
        ...(this.deps.publicUrl ? { url: `${this.deps.publicUrl}/servers/${instance.id}` } : {}),
      },
    });
  }
}
