import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { AgentTokens, HostingProvider, InstanceAgent, InstanceView, KernelHooks, MaintenanceCalendar, Notifications } from '../../api';
import type { NodesInMaintenance } from '../maintenance';
import type { KernelConfig } from '../config';
import { Instance, ProvisioningOperation, instanceView, type Checkpoint } from '../entities';
import type { OperationLease } from './lease';
import type { KernelMetrics } from '../metrics';
import type { InstanceReadiness } from './readiness';

/** Everything a worker needs; ports are resolved lazily so a disabled plugin fails clearly at use. */
export interface WorkerDeps {
  ds: DataSource;
  config: KernelConfig;
  hooks: KernelHooks;
  hosting: () => HostingProvider;
  agent: () => InstanceAgent;
  agentTokens: AgentTokens;
  readiness: InstanceReadiness;
  /** An instance stopped counting against its owner's quota. */
  accountChanged(accountId: string): Promise<void>;
  lease: OperationLease;
  wakeups: OperationWakeups;
  logger: Logger;
  controlPlaneUrl: string;
  notifications: Notifications;
  /** Which nodes are in a maintenance window now (placement avoids them). */
  maintenance: { inMaintenance(at?: Date): Promise<NodesInMaintenance> };
  /** The calendar port (the placed node is checked against it). */
  calendar: () => MaintenanceCalendar;
  metrics: KernelMetrics;
}

/** Scheduled re-runs of a parked create (a readiness wait between two checks). */
export interface OperationWakeups {
  /** Runs readiness check `check` of the operation after `delayMs`. */
  schedule(operationId: string, check: number, delayMs: number): Promise<void>;
  /** Runs the scheduled check now, or, when none is scheduled yet, the next one as soon as it is. */
  wake(operationId: string, check: number): Promise<void>;
}

/** Thrown when this worker lost its lease: another worker owns the operation now; stop quietly. */
export class LeaseLost extends Error {}

/** Why an operation failed when no remote call did: the codes it ends with. */
export class OperationFailure extends Error {
  constructor(readonly code: 'ready_timeout' | 'deadline_exceeded' | 'maintenance', message: string, readonly details: Record<string, unknown> = {}) {
    super(message);
  }
}

/**
 * Saves phase + checkpoint after each step and keeps the lease alive: at every step, and by a
 * heartbeat while a long remote call runs, so a dead worker's lease expires soon after it died.
 */
export class OperationRun {
  private readonly heartbeat: NodeJS.Timeout;
  /** When this run entered its current phase. */
  private phaseSince = performance.now();

  constructor(readonly op: ProvisioningOperation, private readonly deps: WorkerDeps) {
    const every = (deps.config.provisioning.leaseSeconds * 1000) / 3;
    this.heartbeat = setInterval(() => void this.beat(), every);
    this.heartbeat.unref();
  }

  get cp(): Checkpoint {
    return this.op.checkpoint;
  }

  /** Ends the heartbeat; the run no longer holds (or no longer needs) the lease. */
  close(): void {
    clearInterval(this.heartbeat);
  }

  /** Enters a phase: stops at the deadline, then one statement renews the lease, names the phase and saves the checkpoint. */
  async phase(name: string): Promise<void> {
    this.checkDeadline();
    await this.renew(name);
    this.phaseEnded();
    this.op.phase = name;
    this.deps.logger.debug({ kind: this.op.kind, phase: name }, 'operation phase');
  }

  private phaseEnded(): void {
    const now = performance.now();
    this.deps.metrics.phaseDuration.observe({ kind: this.op.kind, phase: this.op.phase }, (now - this.phaseSince) / 1000);
    this.phaseSince = now;
  }

  /** The worker itself enforces the deadline: past it, the operation fails and is undone like any other failure. */
  checkDeadline(): void {
    if (Date.now() > this.op.deadlineAt.getTime()) {
      throw new OperationFailure('deadline_exceeded', `not finished by its deadline (${this.op.deadlineAt.toISOString()})`, { deadlineAt: this.op.deadlineAt.toISOString() });
    }
  }

  /** Saves the checkpoint and lets go of the lease until a scheduled wake-up; false when the lease was already lost. */
  async park(): Promise<boolean> {
    this.close();
    const parked = await this.deps.lease.park(this.op.id, this.op.checkpoint);
    this.unsaved = false;
    return parked;
  }

  /** Retries an idempotent remote step with the configured backoff. */
  retry<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
    return retrySafe(fn, attempts, this.deps.config.provisioning.retryBackoffMs);
  }

  private async beat(): Promise<void> {
    try {
      await this.deps.lease.renew(this.op.id);
    } catch (err) {
      this.deps.logger.warn({ err, operationId: this.op.id }, 'lease heartbeat failed');
    }
  }

  /**
   * Records progress. It reaches the row with the next phase, renewal or finish, which always
   * comes before the next remote call: a re-run never repeats a step that was saved as done.
   */
  async checkpoint(patch: Partial<Checkpoint>): Promise<void> {
    Object.assign(this.op.checkpoint, patch);
    this.unsaved = true;
  }

  async renew(phase?: string): Promise<void> {
    const checkpoint = this.unsaved ? this.op.checkpoint : undefined;
    if (!(await this.deps.lease.renew(this.op.id, phase, checkpoint))) throw new LeaseLost(this.op.id);
    this.unsaved = false;
  }

  private unsaved = false;

  /** The instance row, read once; this run's own changes go through updateInstance and stay in step. */
  async instance(): Promise<Instance> {
    return (this.row ??= await this.deps.ds.getRepository(Instance).findOneByOrFail({ id: this.op.instanceId! }));
  }

  async updateInstance(patch: Partial<Pick<Instance, 'vmid' | 'node' | 'ports' | 'address' | 'host' | 'state' | 'deletedAt'>>): Promise<void> {
    await this.deps.ds.getRepository(Instance).update(this.op.instanceId!, patch);
    if (this.row) Object.assign(this.row, patch);
  }

  async view(): Promise<InstanceView> {
    return instanceView(await this.instance());
  }

  private row?: Instance;

  async finish(state: 'succeeded' | 'failed', error: ProvisioningOperation['error'] = null): Promise<void> {
    this.close();
    await this.deps.ds.getRepository(ProvisioningOperation).update(this.op.id, {
      state, error, checkpoint: this.op.checkpoint, leaseOwner: null, leaseUntil: null,
      phase: state === 'succeeded' ? 'done' : this.op.phase,
    });
    this.phaseEnded();
    this.deps.metrics.operationsFinished.inc({ kind: this.op.kind, outcome: state });
  }
}

/** Retries an idempotent remote step (start, destroy, status) a few times with backoff. */
export async function retrySafe<T>(fn: () => Promise<T>, attempts = 5, baseMs = 200): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      if (i < attempts - 1) await new Promise((r) => setTimeout(r, baseMs * 2 ** i));
    }
  }
  throw last;
}

export function describeError(err: unknown, phase: string): NonNullable<ProvisioningOperation['error']> {
  const e = err as { code?: string; message?: string; details?: Record<string, unknown> };
  return {
    code: typeof e?.code === 'string' ? e.code : 'internal',
    message: e?.message ?? String(err),
    phase,
    details: e?.details,
  };
}
