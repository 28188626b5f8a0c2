import { BillingGate, DriftDetector, HostingProvider, InstanceAgent, KernelQueue, Tokens } from '../../api';
import type { AgentTokens, ApiRouter, FencingToken, LoopTick, MaintenanceCalendar, Notifications, PortRef } from '../../api';
import type { LeaderLoops } from '../loops/leader-loops';
import type { KernelInstanceDirectory } from '../operations/directory';
import type { InstanceReadiness } from '../operations/readiness';
import type { KernelServices } from '../services';
import { RepairGuards } from './guards';
import { AddressDetector, StaleOperationDetector } from './kernel-detectors';
import { ControllerMetrics } from './metrics';
import { QueueAlerts } from './queue-alerts';
import { Reconciler, type PassReport } from './reconciler';
import { REPAIR_JOB, RepairWorker } from './repairs';
import { repairRoutes } from './routes';

/** The controller's leader loop, `<owner>.<name>`: its fence guards every write of the controller and the repair worker. */
export const CONTROLLER_LOOP = { owner: 'kernel', name: 'controller', full: 'kernel.controller' } as const;

export interface ControllerContext extends KernelServices {
  directory: KernelInstanceDirectory;
  readiness: InstanceReadiness;
  agentTokens: AgentTokens;
  controlPlaneUrl: string;
  routes: ApiRouter;
  loops: LeaderLoops;
  resolve<T>(token: PortRef<T>): T;
  ports: { required<T>(port: PortRef<T>): T; optional<T>(port: PortRef<T>): T | undefined; resolveAll<T>(port: PortRef<T>): T[] };
}

/** The elected reconciler, the repair worker and the admin routes over their events. */
export class Controller {
  readonly reconciler: Reconciler;
  readonly metrics: ControllerMetrics;
  private readonly alerts: QueueAlerts;
  /** Passes this process finished as leader, and the fence of the latest (what an operator's status and tests read). */
  passes = 0;
  lastFence?: FencingToken;

  constructor(private readonly k: ControllerContext) {
    const { ds, config, queues, logger, ports } = k;
    const settings = config.controller;
    this.metrics = new ControllerMetrics(k.metrics.registry);
    const guards = new RepairGuards(ds, () => ports.optional(BillingGate), () => k.resolve<MaintenanceCalendar>(Tokens.Maintenance));
    const kernelDetectors = [
      new StaleOperationDetector(ds, () => settings.staleAfterSeconds),
      new AddressDetector(() => ports.optional(HostingProvider), () => settings.addressChecksPerPass),
    ];
    this.reconciler = new Reconciler({
      ds, directory: k.directory, readiness: k.readiness, guards, metrics: this.metrics, logger: logger.child({ component: 'controller' }),
      detectors: () => [...kernelDetectors, ...ports.resolveAll(DriftDetector)],
      repairLevel: () => settings.repairLevel,
    });
    const notifications = () => k.resolve<Notifications>(Tokens.Notifications);
    const worker = new RepairWorker({
      ds, hooks: k.hooks, directory: k.directory, readiness: k.readiness, guards, hosting: () => ports.required(HostingProvider), agent: () => ports.required(InstanceAgent),
      agentTokens: k.agentTokens, controlPlaneUrl: k.controlPlaneUrl, notifications, metrics: this.metrics,
      operationStale: (kind) => k.metrics.operationsFinished.inc({ kind, outcome: 'stale' }),
      logger: logger.child({ component: 'repair-worker' }), loop: CONTROLLER_LOOP.full,
    });
    queues.define<{ eventId: string }>(REPAIR_JOB, KernelQueue.repair, (d) => worker.run(d.eventId));
    this.alerts = new QueueAlerts(k.redis, config.redis.prefix, () => settings.queueAlerts, notifications, this.metrics, logger.child({ component: 'controller' }));
    repairRoutes(k.routes, { ds, enqueue: (e) => this.enqueue(e) });
    if (settings.enabled) {
      k.loops.define(CONTROLLER_LOOP.owner, CONTROLLER_LOOP.name, { intervalMs: settings.intervalSeconds * 1000, leader: true }, async (tick) => void (await this.tick(tick)));
    }
  }

  /** One pass of the elected controller: record findings, queue what may be repaired, watch the queues. */
  async tick({ fence, signal }: LoopTick): Promise<PassReport> {
    const log = this.k.logger.child({ component: 'controller', token: fence.value });
    this.lastFence = fence;
    const started = Date.now();
    let report: PassReport;
    try {
      report = await this.reconciler.pass(signal, fence);
    } catch (err) {
      this.metrics.passFailed((Date.now() - started) / 1000);
      throw err;
    }
    for (const event of report.queued) {
      await this.enqueue(event).catch((err) => log.warn({ err, repairEventId: event.id }, 'could not queue a repair; the next pass queues it again'));
    }
    const stats = await this.k.queues.stats();
    await this.alerts.check(stats, () => fence.assertCurrent());
    const fresh = report.findings.filter((f) => f.fresh).length;
    this.passes += 1;
    log[fresh ? 'info' : 'debug']({ findings: report.findings.length, fresh, queued: report.queued.length, resolved: report.resolved, ms: report.durationMs }, 'reconcile pass');
    return report;
  }

  /** A pass that records nothing: what `zpack controller --once --dry-run` prints. */
  dryRun(): Promise<PassReport> {
    return this.reconciler.pass(new AbortController().signal);
  }

  private async enqueue(event: { id: string; attempts: number }): Promise<void> {
    await this.k.queues.enqueue(KernelQueue.repair, REPAIR_JOB, { eventId: event.id }, { jobId: `repair-${event.id}-${event.attempts}` });
  }
}

/** The findings of a pass as a table for a terminal. */
export function findingsTable(report: PassReport): string {
  const rows = report.findings.map((f) => [
    String(f.level), f.kind, f.instanceId ?? f.operationId ?? '-', f.action, f.state + (f.hold ? ` (${f.hold.reason})` : ''), f.fresh ? 'new' : 'seen', short(f.evidence),
  ]);
  const head = ['LEVEL', 'KIND', 'SUBJECT', 'ACTION', 'STATE', 'SEEN', 'EVIDENCE'];
  const widths = head.map((h, n) => Math.max(h.length, ...rows.map((r) => r[n].length)));
  const line = (cells: string[]) => cells.map((c, n) => (n === cells.length - 1 ? c : c.padEnd(widths[n]))).join('  ');
  const detectors = report.detectors.map((d) => `${d.name}: ${d.ok ? `${d.findings} finding(s)` : `failed (${d.error})`}`).join('; ');
  return [
    line(head), ...rows.map(line), '',
    `${report.findings.length} finding(s) over ${report.instances} instance(s) in ${report.durationMs} ms; detectors: ${detectors || 'none'}`,
  ].join('\n');
}

const short = (evidence: Record<string, unknown>): string => {
  const text = JSON.stringify(evidence);
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
};
