import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { KernelDrift } from '../../api';
import type { AgentTokens, Drift, HostingProvider, InstanceAgent, KernelHooks, Notifications, ProvisionPlan, RepairResult } from '../../api';
import { recordedFence } from '../loops/fence';
import { audit } from '../audit';
import { RepairEvent } from '../entities';
import { returnedRows } from '../database';
import { withLogContext } from '../logger';
import type { KernelInstanceDirectory } from '../operations/directory';
import type { InstanceReadiness } from '../operations/readiness';
import { agentPayload } from '../operations/provision';
import type { RepairGuards } from './guards';
import type { ControllerMetrics } from './metrics';

export const REPAIR_JOB = 'repair.run';

/** A statement's guard, given the parameters holding the loop's name and the event's token: that term is still the latest recorded. */
const fenced = (loop: string, token: string): string => `COALESCE((SELECT token FROM loop_fence WHERE loop = ${loop}), 0) <= ${token}`;

export interface RepairWorkerDeps {
  ds: DataSource;
  hooks: KernelHooks;
  directory: KernelInstanceDirectory;
  readiness: InstanceReadiness;
  guards: RepairGuards;
  hosting: () => HostingProvider;
  agent: () => InstanceAgent;
  agentTokens: AgentTokens;
  controlPlaneUrl: string;
  notifications: () => Notifications;
  metrics: ControllerMetrics;
  /** Counts an operation the controller ended as stale, by its kind. */
  operationStale(kind: string): void;
  logger: Logger;
  /** The controller's loop, whose recorded fencing token every repair is checked against. */
  loop: string;
}

/**
 * Runs one queued repair event: the kernel repairs the facts it owns (operations, stored
 * addresses, an agent's payload), every other kind goes to `onRepair`, where the plugin that
 * reported it repairs it. An event written by a deposed controller is left alone (the new leader
 * queues it again under its own token), and the outcome is written only while that still holds.
 */
export class RepairWorker {
  private readonly own: Record<string, (drift: Drift, token: number) => Promise<RepairResult>>;

  constructor(private readonly deps: RepairWorkerDeps) {
    this.own = {
      [KernelDrift.staleOperation]: (d, token) => this.markStale(d, token),
      [KernelDrift.addressChanged]: (d, token) => this.updateAddress(d, token),
      [KernelDrift.agentUnprovisioned]: (d) => this.reprovisionAgent(d),
      [KernelDrift.agentTokenRejected]: (d) => this.provisionAgentToken(d),
      [KernelDrift.readinessUnrecorded]: (d) => this.recordReadiness(d),
    };
  }

  async run(eventId: string): Promise<void> {
    const event = await this.deps.ds.getRepository(RepairEvent).findOneBy({ id: eventId });
    if (!event || event.state !== 'queued' || event.resolvedAt) return;
    await withLogContext({ operationId: event.operationId ?? undefined, instanceId: event.instanceId ?? undefined }, () => this.repair(event));
  }

  private async repair(event: RepairEvent): Promise<void> {
    const { ds, logger } = this.deps;
    const log = logger.child({ repairEventId: event.id, kind: event.kind, instanceId: event.instanceId ?? undefined, operationId: event.operationId ?? undefined });
    if ((await recordedFence(ds, this.deps.loop)) > event.fencingToken) {
      log.warn({ token: event.fencingToken }, 'repair event of a deposed controller term; left for the current leader');
      return;
    }
    const instance = event.instanceId ? await this.deps.directory.get(event.instanceId) : null;
    const hold = await this.deps.guards.holdFor(instance);
    if (hold) {
      await this.finish(event, 'skipped', { ...hold });
      return;
    }
    const drift: Drift = { kind: event.kind, instanceId: event.instanceId ?? undefined, operationId: event.operationId ?? undefined, detail: event.evidence };
    let result: RepairResult | undefined;
    try {
      result = await (this.own[event.kind]?.(drift, event.fencingToken) ?? this.deps.hooks.onRepair.promise(drift));
    } catch (err) {
      result = { action: event.action, ok: false, detail: { error: (err as Error).message, code: (err as { code?: string }).code } };
    }
    result ??= { action: event.action, ok: false, detail: { reason: 'no_repairer', message: `no enabled plugin repairs ${event.kind}` } };
    const written = await this.finish(event, result.ok ? 'done' : 'failed', { action: result.action, ...(result.detail ?? {}) });
    if (!written) return;
    log.info({ ok: result.ok, action: result.action }, result.ok ? 'repair done' : 'repair failed');
    await this.deps.notifications().sendToOperators('ops', {
      subject: `Repair ${result.ok ? 'done' : 'failed'}: ${event.kind}`,
      text: `${result.action} for ${event.instanceId ? `server ${event.instanceId}` : `operation ${event.operationId}`}: ${result.ok ? 'done' : `failed (${JSON.stringify(result.detail ?? {})})`}.`,
      template: result.ok ? 'repair_done' : 'repair_failed',
      data: { repairEventId: event.id, kind: event.kind, action: result.action, instanceId: event.instanceId, operationId: event.operationId },
    }).catch((err) => log.warn({ err }, 'could not notify operators of a repair'));
  }

  /** One statement that writes only while the event is still queued and its term is still the latest. */
  private async finish(event: RepairEvent, state: 'done' | 'failed' | 'skipped', outcome: Record<string, unknown>): Promise<boolean> {
    const rows = await this.deps.ds.query(
      `UPDATE repair_event SET state = $2, outcome = $3::jsonb, updated_at = now(), resolved_at = CASE WHEN $2 = 'done' THEN now() ELSE NULL END
        WHERE id = $1 AND state = 'queued' AND resolved_at IS NULL
          AND ${fenced('$4', 'fencing_token')}
      RETURNING id`, [event.id, state, JSON.stringify(outcome), this.deps.loop]);
    const written = returnedRows(rows).length > 0;
    if (written) this.deps.metrics.repairs.inc({ kind: event.kind, outcome: state });
    return written;
  }

  /** The operation goes to `stale` and its lease is released, unless a worker took it up meanwhile. */
  private async markStale(drift: Drift, token: number): Promise<RepairResult> {
    const rows = await this.deps.ds.query(
      `UPDATE provisioning_operation
          SET state = 'stale', lease_owner = NULL, lease_until = NULL, updated_at = now(),
              error = jsonb_build_object('code', 'stale', 'message', 'Past its deadline with no live worker; marked stale by the controller', 'phase', phase)
        WHERE id = $1 AND state IN ('queued','running') AND deadline_at < now() AND (lease_until IS NULL OR lease_until < now())
          AND ${fenced('$2', '$3')}
      RETURNING id, kind`, [drift.operationId, this.deps.loop, token]);
    const [marked] = returnedRows<{ kind: string }>(rows);
    if (!marked) return { action: 'mark_stale', ok: false, detail: { reason: 'no_longer_stale' } };
    this.deps.operationStale(marked.kind);
    return { action: 'mark_stale', ok: true };
  }

  /** The agent said ready to the controller: recorded as if its ready event had arrived (onInstanceReady fires once). */
  private async recordReadiness(drift: Drift): Promise<RepairResult> {
    const action = 'record_readiness';
    const instance = drift.instanceId ? await this.deps.directory.get(drift.instanceId) : null;
    if (!instance || instance.state !== 'running') return { action, ok: false, detail: { reason: 'not_running', state: instance?.state ?? null } };
    const answer = await this.deps.agent().ready(instance);
    if (!answer.ready) return { action, ok: false, detail: { reason: 'no_longer_ready', detail: answer.detail ?? null } };
    await this.deps.readiness.agentSaidReady(instance);
    return { action, ok: true };
  }

  /** The stored address becomes the live one; the proxy's registration follows on the next pass. */
  private async updateAddress(drift: Drift, token: number): Promise<RepairResult> {
    const instance = drift.instanceId ? await this.deps.directory.get(drift.instanceId) : null;
    if (!instance || instance.vmid === null || instance.node === null) return { action: 'address_update', ok: false, detail: { reason: 'instance_gone' } };
    const live = await this.deps.hosting().address({ vmid: instance.vmid, node: instance.node });
    const rows = await this.deps.ds.query(`UPDATE instance SET host = $2, address = $3, updated_at = now() WHERE id = $1 AND deleted_at IS NULL AND ${fenced('$4', '$5')} RETURNING id`,
      [instance.id, live.host, live.agentUrl, this.deps.loop, token]);
    if (!returnedRows(rows).length) return { action: 'address_update', ok: false, detail: { reason: 'fenced_or_gone' } };
    return { action: 'address_update', ok: true, detail: { from: { host: instance.host, agentUrl: instance.address }, to: live } };
  }

  /**
   * An agent that predates ours (a fleet taken over) rejects our token: presented once with the
   * token the import recorded for it, it takes ours; the old token is then erased, and the step
   * audited (the approval itself is audited by the approve route, with the operator).
   */
  private async provisionAgentToken(drift: Drift): Promise<RepairResult> {
    const action = 'agent_token_provision';
    const instance = drift.instanceId ? await this.deps.directory.get(drift.instanceId) : null;
    if (!instance) return { action, ok: false, detail: { reason: 'instance_gone' } };
    const [row] = await this.deps.ds.query(`SELECT ref, agent_token AS token FROM fleet_import_row WHERE kind = 'server' AND target_id = $1`, [instance.id]);
    if (!row?.token) {
      return { action, ok: false, detail: { reason: 'no_legacy_token', message: 'the import recorded no token for this agent: give the server\'s agentToken in the fleet file and import again' } };
    }
    await this.deps.agent().replaceToken(instance, row.token);
    await this.deps.ds.transaction(async (m) => {
      await m.query(`UPDATE fleet_import_row SET agent_token = NULL WHERE kind = 'server' AND target_id = $1`, [instance.id]);
      await audit(m, null, 'fleet.agent_token_provisioned', instance.id, { ref: row.ref, vmid: instance.vmid });
    });
    return { action, ok: true, detail: { ref: row.ref } };
  }

  /** The agent forgot its payload: it is handed the one its create operation planned, again. */
  private async reprovisionAgent(drift: Drift): Promise<RepairResult> {
    const instance = drift.instanceId ? await this.deps.directory.get(drift.instanceId) : null;
    if (!instance) return { action: 'agent_reprovision', ok: false, detail: { reason: 'instance_gone' } };
    const [op] = await this.deps.ds.query(
      `SELECT input FROM provisioning_operation WHERE instance_id = $1 AND kind = 'create' ORDER BY created_at DESC LIMIT 1`, [instance.id]);
    const plan = op?.input?.plan as ProvisionPlan | undefined;
    if (!plan) return { action: 'agent_reprovision', ok: false, detail: { reason: 'no_plan' } };
    await this.deps.agent().provision(instance, agentPayload(plan, instance.id, instance.ports, this.deps.agentTokens, this.deps.controlPlaneUrl));
    return { action: 'agent_reprovision', ok: true };
  }
}
