import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { AgentTokens, HostingProvider, InstanceAgent, InstanceView, KernelHooks, MaintenanceCalendar, Notifications } from '../../api';
import type { NodesInMaintenance } from '../maintenance';
import type { KernelConfig } from '../config';
import { Instance, ProvisioningOperation, instanceView, type Checkpoint } from '../entities';
import type { InstanceFacts, Leased, OperationLease } from './lease';
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
 * What a step learnt about the instance (`learnt`) and the checkpoint it reached go out with the
 * statement that enters the next phase: one write per transition, always before the next remote call.
 */
export class OperationRun {
  readonly op: ProvisioningOperation;
  private readonly heartbeat: NodeJS.Timeout;
  /** When this run entered its current phase. */
  private phaseSince = performance.now();
  /** The checkpoint changed since the last write. */
  private unsaved = false;
  /** Instance facts learnt since the last write. */
  private facts: InstanceFacts = {};
  private row?: Instance;

  constructor(leased: Leased, private readonly deps: WorkerDeps) {
    this.op = leased.op;
    this.row = leased.instance ?? undefined;
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

  /**
   * Enters a phase: stops at the deadline, then one statement renews the lease, names the phase
   * and saves the checkpoint and the facts learnt. Entering the phase the row already names with
   * nothing to save (the statement that took the lease just named it) writes nothing.
   */
  async phase(name: string): Promise<void> {
    this.checkDeadline();
    if (name !== this.op.phase || this.unsaved || this.hasFacts()) await this.renew(name);
    this.phaseEnded();
    this.op.phase = name;
    if (this.deps.logger.isLevelEnabled('debug')) this.deps.logger.debug({ kind: this.op.kind, phase: name }, 'operation phase');
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
    // Facts are recorded by the phase that learnt them, before any wait: none may be left to lose here.
    if (this.hasFacts() && !(await this.deps.lease.renew(this.op.id, undefined, undefined, this.takeFacts()))) return false;
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

  /**
   * Records what a step learnt about the instance (VMID, node, ports, addresses, state). Like the
   * checkpoint, it reaches the row with the next phase or renewal, in the same statement, and only
   * while this worker holds the lease; this run's view of the row has it at once.
   */
  learnt(facts: InstanceFacts): void {
    Object.assign(this.facts, facts);
    if (this.row) Object.assign(this.row, facts);
  }

  async renew(phase?: string): Promise<void> {
    const checkpoint = this.unsaved ? this.op.checkpoint : undefined;
    const facts = this.hasFacts() ? this.facts : undefined;
    if (!(await this.deps.lease.renew(this.op.id, phase, checkpoint, facts))) throw new LeaseLost(this.op.id);
    this.unsaved = false;
    if (facts) this.facts = {};
  }

  private hasFacts(): boolean {
    for (const _ in this.facts) return true;
    return false;
  }

  private takeFacts(): InstanceFacts {
    const facts = this.facts;
    this.facts = {};
    return facts;
  }

  /** The instance row, read once (the statement that took the lease usually brought it); this run's own changes stay in step. */
  async instance(): Promise<Instance> {
    if (!this.row) this.row = Object.assign(await this.deps.ds.getRepository(Instance).findOneByOrFail({ id: this.op.instanceId! }), this.facts);
    return this.row;
  }

  /** Writes at once, outside the lease (cleanup after a failure); progress goes through `learnt`. */
  async updateInstance(patch: Partial<Pick<Instance, 'vmid' | 'node' | 'ports' | 'address' | 'host' | 'state' | 'deletedAt'>>): Promise<void> {
    await this.deps.ds.getRepository(Instance).update(this.op.instanceId!, patch);
    if (this.row) Object.assign(this.row, patch);
  }

  async view(): Promise<InstanceView> {
    return instanceView(await this.instance());
  }

  /** Ends the operation; answers the owner's email, read by the same statement. */
  async finish(state: 'succeeded' | 'failed', error: ProvisioningOperation['error'] = null): Promise<{ ownerEmail: string | null }> {
    this.close();
    // Facts learnt just before a failure (a container made, then the deadline passed) are kept for its cleanup.
    if (this.hasFacts()) await this.deps.lease.renew(this.op.id, undefined, undefined, this.takeFacts());
    const phase = state === 'succeeded' ? 'done' : this.op.phase;
    const answer = await this.deps.lease.finish(this.op.id, state, phase, this.op.checkpoint, error);
    Object.assign(this.op, { state, error, phase, leaseOwner: null, leaseUntil: null });
    this.unsaved = false;
    this.phaseEnded();
    this.deps.metrics.operationsFinished.inc({ kind: this.op.kind, outcome: state });
    return answer;
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
