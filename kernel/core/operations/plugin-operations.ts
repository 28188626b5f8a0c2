import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import {
  BootError, IdempotencyKeyReusedError, InvalidRequestError, KernelQueue, OperationInProgressError, ConflictError, idempotencyKey,
} from '../../api';
import type { AccountView, OperationDefinition, OperationStepContext, OperationView, Operations, StartOperationOptions } from '../../api';
import { Instance, ProvisioningOperation } from '../entities';
import { isDatabaseUnavailable } from '../database';
import type { KernelQueues } from '../queues';
import { LeaseLost, OperationRun, describeError, type WorkerDeps } from './phases';
import { requestHash } from './request';
import { operationView } from './views';
import { OPERATION_JOB } from './instances';

const PG_UNIQUE = '23505';

/** The operations plugins define, by kind `<plugin>.<name>`; filled while plugins register. */
export class OperationRegistry {
  private readonly definitions = new Map<string, OperationDefinition<any>>();

  define(plugin: string, name: string, definition: OperationDefinition<any>): void {
    if (!/^[a-z][a-z0-9.-]*$/.test(name)) throw new BootError(`operation "${name}" of plugin "${plugin}" must be lower-case letters, digits, dots and dashes`, 'operation_name_invalid');
    const kind = `${plugin}.${name}`;
    if (this.definitions.has(kind)) throw new BootError(`operation "${kind}" is defined twice`, 'operation_defined_twice');
    if (!definition.phases.length) throw new BootError(`operation "${kind}" has no phases`, 'operation_without_phases');
    this.definitions.set(kind, definition);
  }

  get(kind: string): OperationDefinition<any> | undefined {
    return this.definitions.get(kind);
  }
}

/**
 * Plugin operations ride on the provisioning machinery: a row first (idempotency key, one
 * unfinished operation per server), a job second, a leased worker that checkpoints each phase.
 */
export class PluginOperations implements Operations {
  constructor(
    private readonly ds: DataSource,
    private readonly registry: OperationRegistry,
    private readonly queues: KernelQueues,
    private readonly workers: WorkerDeps,
    private readonly logger: Logger,
  ) {
    queues.define<{ operationId: string }>(OPERATION_JOB, KernelQueue.provisioning, (d) => this.run(d.operationId));
  }

  async start<I>(account: AccountView, instanceId: string, kind: string, input: I, options: StartOperationOptions = {}): Promise<OperationView> {
    const definition = this.registry.get(kind);
    if (!definition) throw new InvalidRequestError(`No operation "${kind}" is defined`);
    const repo = this.ds.getRepository(ProvisioningOperation);
    const hash = requestHash({ kind, instanceId, input });
    const key = options.idempotencyKey || null;
    // Routes hand the header over as they got it: bad input here is the caller's, not a failed insert.
    const valid = key === null ? undefined : idempotencyKey.safeParse(key);
    if (valid && !valid.success) {
      const message = valid.error.issues[0].message;
      throw new InvalidRequestError(`Idempotency-Key header is invalid: ${message}`, { fields: [{ path: 'header.Idempotency-Key', message }] });
    }
    if (key) {
      const prior = await repo.findOneBy({ accountId: account.id, idempotencyKey: key });
      if (prior) return replay(prior, hash);
    }
    const instance = await this.ds.getRepository(Instance).findOneBy({ id: instanceId });
    if (!instance || instance.deletedAt) throw new ConflictError('The server no longer exists');
    if (instance.state === 'provisioning' || instance.state === 'deleting' || instance.state === 'deleted') {
      throw new ConflictError(`The server is ${instance.state}`, { state: instance.state });
    }
    const deadlineSeconds = definition.deadlineSeconds ?? this.workers.config.provisioning.deadlineSeconds;
    let op: ProvisioningOperation;
    try {
      op = await repo.save(repo.create({
        accountId: account.id, idempotencyKey: key, requestHash: hash, kind, instanceId, input: { input } as Record<string, unknown>,
        state: 'queued', phase: 'queued', checkpoint: {}, deadlineAt: new Date(Date.now() + deadlineSeconds * 1000),
      }));
    } catch (err: any) {
      if (err?.driverError?.code !== PG_UNIQUE) throw err;
      if (key) {
        const raced = await repo.findOneBy({ accountId: account.id, idempotencyKey: key });
        if (raced) return replay(raced, hash);
      }
      const active = await repo.createQueryBuilder('o')
        .where(`o.instance_id = :instanceId AND o.state IN ('queued','running')`, { instanceId }).getOne();
      throw new OperationInProgressError(active?.id ?? 'unknown');
    }
    await this.dispatch(op);
    return operationView(op);
  }

  async get(id: string): Promise<OperationView | null> {
    const op = await this.ds.getRepository(ProvisioningOperation).findOneBy({ id });
    return op ? operationView(op) : null;
  }

  async dispatch(op: ProvisioningOperation): Promise<void> {
    try {
      await this.queues.enqueue(KernelQueue.provisioning, OPERATION_JOB, { operationId: op.id }, { jobId: op.id });
    } catch (err) {
      this.logger.warn({ err, operationId: op.id }, 'enqueue failed; the sweeper will retry');
    }
  }

  async run(operationId: string): Promise<void> {
    const leased = await this.workers.lease.acquire(operationId);
    if (!leased) return;
    const { op } = leased;
    const definition = this.registry.get(op.kind);
    const run = new OperationRun(leased, this.workers);
    const logger = this.workers.logger.child({ operationId: op.id, instanceId: op.instanceId, operation: op.kind });
    try {
      if (!definition) {
        // The plugin that defined it is disabled now: the operation cannot run anywhere.
        await run.finish('failed', { code: 'operation_unknown', message: `no enabled plugin defines "${op.kind}"`, phase: op.phase });
        return;
      }
      const ctx = await this.stepContext(run, logger);
      try {
        for (const phase of definition.phases) {
          if (run.cp.phasesDone?.includes(phase)) continue;
          await run.phase(phase);
          await definition.run(phase, ctx);
          void run.checkpoint({ phasesDone: [...(run.cp.phasesDone ?? []), phase] });
          run.checkDeadline();
        }
      } catch (err) {
        if (err instanceof LeaseLost) return;
        if (isDatabaseUnavailable(err)) throw err;
        const error = describeError(err, run.op.phase);
        logger.warn({ error }, 'operation failed; undoing');
        try {
          await definition.undo?.(run.op.phase, err, ctx);
        } catch (undoErr) {
          logger.error({ err: undoErr }, 'undoing the failed operation failed');
          error.details = { ...error.details, undo: 'failed', undoError: (undoErr as Error).message };
        }
        await run.finish('failed', error);
        return;
      }
      await run.finish('succeeded');
    } finally {
      run.close();
    }
  }

  private async stepContext(run: OperationRun, logger: Logger): Promise<OperationStepContext<unknown>> {
    const progress: Record<string, unknown> = (run.cp.progress ??= {});
    return {
      operationId: run.op.id,
      instance: await run.view(),
      input: (run.op.input as { input?: unknown }).input,
      progress,
      record: (patch) => {
        Object.assign(progress, patch);
        void run.checkpoint({ progress });
      },
      retry: (fn, attempts) => run.retry(fn, attempts),
      logger,
    };
  }
}

function replay(op: ProvisioningOperation, hash: string): OperationView {
  if (op.requestHash !== hash) throw new IdempotencyKeyReusedError();
  return operationView(op);
}
