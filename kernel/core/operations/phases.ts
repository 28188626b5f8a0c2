import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { AgentTokens, HostingProvider, InstanceAgent, InstanceDirectory, InstanceView, KernelHooks } from '../../api';
import type { KernelConfig } from '../config';
import { Instance, ProvisioningOperation, instanceView, type Checkpoint } from '../entities';
import type { OperationLease } from './lease';

/** Everything a worker needs; ports are resolved lazily so a disabled plugin fails clearly at use. */
export interface WorkerDeps {
  ds: DataSource;
  config: KernelConfig;
  hooks: KernelHooks;
  hosting: () => HostingProvider;
  agent: () => InstanceAgent;
  agentTokens: AgentTokens;
  directory: InstanceDirectory;
  /** An instance stopped counting against its owner's quota. */
  accountChanged(accountId: string): Promise<void>;
  lease: OperationLease;
  logger: Logger;
  controlPlaneUrl: string;
}

/** Thrown when this worker lost its lease: another worker owns the operation now; stop quietly. */
export class LeaseLost extends Error {}

/** Saves phase + checkpoint after each step and keeps the lease alive. */
export class OperationRun {
  constructor(readonly op: ProvisioningOperation, private readonly deps: WorkerDeps) {}

  get cp(): Checkpoint {
    return this.op.checkpoint;
  }

  /** Enters a phase: one statement renews the lease, names the phase and saves the checkpoint. */
  async phase(name: string): Promise<void> {
    await this.renew(name);
    this.op.phase = name;
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

  async updateInstance(patch: Partial<Pick<Instance, 'vmid' | 'node' | 'ports' | 'address' | 'state' | 'deletedAt'>>): Promise<void> {
    await this.deps.ds.getRepository(Instance).update(this.op.instanceId!, patch);
    if (this.row) Object.assign(this.row, patch);
  }

  async view(): Promise<InstanceView> {
    return instanceView(await this.instance());
  }

  private row?: Instance;

  async finish(state: 'succeeded' | 'failed', error: ProvisioningOperation['error'] = null): Promise<void> {
    await this.deps.ds.getRepository(ProvisioningOperation).update(this.op.id, {
      state, error, checkpoint: this.op.checkpoint, leaseOwner: null, leaseUntil: null,
      phase: state === 'succeeded' ? 'done' : this.op.phase,
    });
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
