import { Column, Entity, Index } from 'typeorm';
import { ZpackEntity } from '../../api';
import type { TeardownStep } from '../../api';

/** `create`, `delete`, or a plugin's `<plugin>.<name>` (kernel/api OperationDefinition). */
export type OperationKind = 'create' | 'delete' | (string & {});
export type OperationState = 'queued' | 'running' | 'succeeded' | 'failed' | 'stale';

/**
 * Which steps the worker has done; a re-run continues from here. Only progress: what a step
 * learnt (VMID, node, ports, addresses) is in the instance row.
 */
export interface Checkpoint {
  allocated?: boolean;
  containerCreated?: boolean;
  adopted?: boolean;
  started?: boolean;
  located?: boolean;
  agentProvisioned?: boolean;
  /** When wait_ready began (ISO): the readiness window is measured from here, across restarts. */
  readySince?: string;
  /** Readiness checks scheduled so far; names the wake-up job of the current one. */
  readyChecks?: number;
  ready?: boolean;
  /** Teardown: steps done so far. */
  steps?: TeardownStep[];
  /** A plugin operation: the phases done so far and what they recorded. */
  phasesDone?: string[];
  progress?: { [key: string]: any };
}

export interface OperationError {
  code: string;
  message: string;
  phase: string;
  /** Upstream status and body, hook and plugin names … (JSON). */
  details?: { [key: string]: any };
}

/**
 * A durable unit of work. Created with the request (idempotency key + request hash), executed
 * by a worker that holds a lease on it, checkpointed after every phase.
 */
@Entity('provisioning_operation')
export class ProvisioningOperation extends ZpackEntity {
  @Index()
  @Column('uuid', { name: 'account_id' })
  accountId: string;

  @Column('text', { name: 'idempotency_key', nullable: true })
  idempotencyKey: string | null;

  @Column('text', { name: 'request_hash', nullable: true })
  requestHash: string | null;

  @Column('text')
  kind: OperationKind;

  @Column('text', { default: 'queued' })
  state: OperationState;

  @Column('text', { default: 'queued' })
  phase: string;

  @Column('uuid', { name: 'instance_id', nullable: true })
  instanceId: string | null;

  /** The validated request and the plan the hooks produced. */
  @Column('jsonb', { default: {} })
  input: Record<string, unknown>;

  @Column('jsonb', { default: {} })
  checkpoint: Checkpoint;

  @Column('jsonb', { nullable: true })
  error: OperationError | null;

  @Column('int', { default: 0 })
  attempts: number;

  @Column('text', { name: 'lease_owner', nullable: true })
  leaseOwner: string | null;

  @Column('timestamptz', { name: 'lease_until', nullable: true })
  leaseUntil: Date | null;

  /** Past this the worker running the operation fails it and undoes what it did. */
  @Column('timestamptz', { name: 'deadline_at' })
  deadlineAt: Date;
}
