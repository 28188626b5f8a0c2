import type { Logger } from 'pino';
import { z } from 'zod';
import type { AccountView, InstanceView } from './domain';
import { timestamp } from './http';

/** What a phase of a plugin's operation sees. */
export interface OperationStepContext<I> {
  readonly operationId: string;
  readonly instance: InstanceView;
  readonly input: I;
  /** What earlier phases recorded, in this run or an earlier attempt of the same operation. */
  readonly progress: Record<string, unknown>;
  /** Adds to `progress`; saved with the next phase, so a re-run after a crash sees it. */
  record(patch: Record<string, unknown>): void;
  /** Retries an idempotent remote step with the kernel's backoff. */
  retry<T>(fn: () => Promise<T>, attempts?: number): Promise<T>;
  readonly logger: Logger;
}

/**
 * A durable, phased unit of work on one server (a mod install, a runtime upgrade, a reinstall),
 * run by a provisioning worker holding the operation's lease: the same machinery as create and
 * delete, so it shows in GET /api/operations/:id and its events, survives a worker's death, and
 * no two operations on one server run at once (409 `operation_in_progress`).
 */
export interface OperationDefinition<I = Record<string, unknown>> {
  /** Phases in order; the operation's `phase` names the one running. A phase done is not run again. */
  phases: readonly string[];
  /** Runs one phase; must be safe to run again (a worker may die after the work, before the checkpoint). */
  run(phase: string, ctx: OperationStepContext<I>): Promise<void>;
  /** After a phase failed: put the server back as it was. The operation then fails with the phase's error. */
  undo?(failedPhase: string, error: unknown, ctx: OperationStepContext<I>): Promise<void>;
  /** Past this the operation fails with `deadline_exceeded` (default: `provisioning.deadlineSeconds`). */
  deadlineSeconds?: number;
}

/**
 * An Idempotency-Key as every route takes it. Bounded: the key sits in a unique index, and a longer
 * one than a B-tree entry holds would fail the insert instead of being refused as bad input.
 */
export const idempotencyKey = z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');
/** The optional Idempotency-Key header of a route that starts an operation, as the document shows it. */
export const idempotencyKeyHeader = z.object({
  'Idempotency-Key': idempotencyKey.optional().meta({ description: 'Repeating a key answers the operation the first request started; another body with it is 422' }),
});

export interface StartOperationOptions {
  /** Same key and same input → the same operation; same key, other input → 422. Keys are per account. */
  idempotencyKey?: string;
}

export type OperationState = 'queued' | 'running' | 'succeeded' | 'failed' | 'stale';

/** An operation as the API shows it. */
export interface OperationView {
  id: string;
  /** `create`, `delete`, or a plugin's `<plugin>.<name>`. */
  kind: string;
  state: OperationState;
  phase: string;
  instanceId: string | null;
  error: { code: string; message: string; phase: string; details?: Record<string, unknown> } | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Starts the operations plugins defined (`ctx.operations.define`). */
export interface Operations {
  /**
   * Accepts `<plugin>.<name>` on a server: a row first, a job second. The caller has checked
   * access (Tokens.Access); the server must not be mid-create or mid-delete.
   */
  start<I>(account: AccountView, instanceId: string, kind: string, input: I, options?: StartOperationOptions): Promise<OperationView>;
  get(id: string): Promise<OperationView | null>;
}

const operationError = z.object({
  code: z.string(), message: z.string(), phase: z.string(), details: z.record(z.string(), z.unknown()).optional(),
});

/** The operation's schema in the document; plugin routes answering 202 `{operation}` use it. */
export const operationSchema = z.object({
  id: z.uuid(),
  kind: z.string().meta({ description: '`create`, `delete`, or a plugin operation `<plugin>.<name>`' }),
  state: z.enum(['queued', 'running', 'succeeded', 'failed', 'stale']),
  phase: z.string(),
  instanceId: z.uuid().nullable(),
  error: operationError.nullable(),
  report: z.array(z.object({ step: z.string(), outcome: z.string(), error: z.string().optional(), at: z.string() }))
    .optional().meta({ description: 'Teardown steps done (delete operations)' }),
  createdAt: timestamp(),
  updatedAt: timestamp(),
}).meta({ id: 'Operation' });

/** The 202 answer of a route that started an operation. */
export const operationAccepted = z.object({ operation: operationSchema });
/** The header a 202 with an operation sends beside it, in the document's words (`responseHeaders`). */
export const OPERATION_LOCATION = { Location: 'The operation to poll: /api/operations/{operationId}' };
