import type { DataSource, EntityManager } from 'typeorm';
import { addLogContext } from '../logger';
import type { Logger } from 'pino';
import {
  IdempotencyKeyReusedError, InvalidRequestError, NotFoundError, OperationInProgressError, KernelQueue, QuotaExceededError, instanceTypeOf,
} from '../../api';
import { assertEntitled } from '../../api';
import type { AccountView, EnforcementState, InstanceType, KernelHooks, PlanEntitlements, ProvisionPlan } from '../../api';
import { assertMayMutate, guardMutation } from '../billing-state';
import { hotQuery, hydrate } from '../database';
import { Instance, ProvisioningOperation } from '../entities';
import type { KernelConfig } from '../config';
import type { KernelQueues } from '../queues';
import { readinessWakeId } from './wakeups';
import { requestHash, type CreateInstanceBody } from './request';

export const PROVISION_JOB = 'instance.provision';
export const TEARDOWN_JOB = 'instance.teardown';
/** A plugin's operation (plugin-operations.ts runs it). */
export const OPERATION_JOB = 'operation.run';

const PG_UNIQUE = '23505';

/** What zpack_accept_create answers: the key's operation (made now or before), or the quota it would exceed. */
interface AcceptOutcome {
  fresh?: boolean;
  op?: Record<string, unknown>;
  quota?: { maxInstances: number; used: number };
}

/** What billing says about an account at create and delete time (admins and exempt accounts: active, no limits). */
export interface InstanceBilling {
  state(accountId: string): Promise<EnforcementState>;
  entitlements(account: AccountView): Promise<PlanEntitlements | null>;
}

/**
 * Accepting work: create and delete requests become durable operations first, jobs second.
 * Nothing here talks to a remote system; the workers do.
 */
export class InstanceService {
  constructor(
    private readonly ds: DataSource,
    private readonly config: KernelConfig,
    private readonly hooks: KernelHooks,
    private readonly queues: KernelQueues,
    private readonly types: () => InstanceType[],
    private readonly logger: Logger,
    private readonly accountChanged: (accountId: string) => Promise<void>,
    private readonly billing: InstanceBilling,
  ) {}

  /**
   * Same key + same body → the same operation; same key + other body → 422; keys are per account.
   * One statement: zpack_accept_create (migration 1700000830000), which under the account's
   * advisory lock answers the key's operation if there is one, else checks the quota and inserts
   * the instance and its operation. A request refused before it (billing, plan, entitlements)
   * looks for the key first: the replay of a request accepted before answers as it did then.
   */
  async requestCreate(account: AccountView, key: string, body: CreateInstanceBody): Promise<ProvisioningOperation> {
    const hash = requestHash(body);
    let state: EnforcementState | undefined;
    let plan: ProvisionPlan;
    let entitlements: PlanEntitlements | null;
    try {
      state = await this.billing.state(account.id);
      assertMayMutate(state, 'mutation');
      entitlements = await this.billing.entitlements(account);
      plan = await this.plan(account, body);
      assertEntitled(entitlements, plan.choices ?? {});
    } catch (err) {
      const [prior] = await hotQuery<Record<string, unknown>>(this.ds, 'zpack_operation_by_key',
        `SELECT * FROM provisioning_operation WHERE account_id = $1 AND idempotency_key = $2`, [account.id, key]);
      if (prior) return replay(hydrate(this.ds, ProvisioningOperation, prior), hash);
      // A refusal for billing is audited (a replay was none).
      if (state !== undefined) await guardMutation(this.ds, account.id, state, 'mutation', 'server.create', null);
      throw err;
    }
    const [{ outcome }] = await hotQuery<{ outcome: AcceptOutcome }>(this.ds, 'zpack_accept_create',
      `SELECT zpack_accept_create($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11::jsonb, $12) AS outcome`,
      [account.id, key, hash, entitlements?.maxInstances ?? null, this.config.quota.defaultMaxInstances, plan.kind, plan.type, plan.name,
        JSON.stringify(plan.payload ?? {}), plan.options === undefined ? null : JSON.stringify(plan.options),
        JSON.stringify({ request: body, plan: { ...plan, account: undefined } }),
        new Date(Date.now() + this.config.provisioning.deadlineSeconds * 1000)],
    );
    if (outcome.quota) throw new QuotaExceededError(`Your plan allows ${outcome.quota.maxInstances} instance(s)`, { ...outcome.quota });
    const op = hydrate(this.ds, ProvisioningOperation, outcome.op!);
    if (!outcome.fresh) return replay(op, hash);
    // Independent of each other: the caches hear of the new instance while the job is queued.
    await Promise.all([this.accountChanged(account.id), this.dispatch(op)]);
    return op;
  }

  /** A delete while one runs returns it; while a create runs → 409; a suspended account's delete is refused (402) and audited. */
  async requestDelete(account: AccountView, instanceId: string): Promise<ProvisioningOperation> {
    const instance = await this.owned(account, instanceId);
    const active = await this.activeOperation(instance.id);
    if (active) {
      if (active.kind === 'delete') return active;
      throw new OperationInProgressError(active.id);
    }
    await guardMutation(this.ds, account.id, await this.billing.state(account.id), 'mutation', 'server.delete', instance.id);
    let op: ProvisioningOperation;
    try {
      op = await this.ds.transaction(async (m) => {
        const created = await this.insertOperation(m, { accountId: account.id, kind: 'delete', instanceId: instance.id, input: {} });
        await m.getRepository(Instance).update(instance.id, { state: 'deleting' });
        return created;
      });
    } catch (err: any) {
      if (err?.driverError?.code !== PG_UNIQUE) throw err;
      const winner = await this.activeOperation(instance.id);
      if (winner?.kind === 'delete') return winner;
      throw new OperationInProgressError(winner?.id ?? 'unknown');
    }
    await this.dispatch(op);
    return op;
  }

  async owned(account: AccountView, id: string): Promise<Instance> {
    // Operators act on every server; anyone else sees only their own.
    const instance = await this.ds.getRepository(Instance).findOneBy(account.role === 'admin' ? { id } : { id, ownerId: account.id });
    if (!instance || instance.deletedAt) throw new NotFoundError('Server');
    return instance;
  }

  /** A live instance by id, for routes whose access the router already checked. */
  async byId(id: string): Promise<Instance> {
    const instance = await this.ds.getRepository(Instance).findOneBy({ id });
    if (!instance || instance.deletedAt) throw new NotFoundError('Server');
    return instance;
  }

  activeOperation(instanceId: string): Promise<ProvisioningOperation | null> {
    return this.ds.getRepository(ProvisioningOperation).createQueryBuilder('o')
      .where('o.instance_id = :instanceId AND o.state IN (:...states)', { instanceId, states: ['queued', 'running'] })
      .getOne();
  }

  /** Enqueue by operation id (the job id dedupes); a failure leaves the row queued for the sweeper. */
  async dispatch(op: ProvisioningOperation): Promise<void> {
    addLogContext({ operationId: op.id, instanceId: op.instanceId ?? undefined });
    const job = op.kind === 'create' ? PROVISION_JOB : op.kind === 'delete' ? TEARDOWN_JOB : OPERATION_JOB;
    try {
      await this.queues.enqueue(KernelQueue.provisioning, job, { operationId: op.id }, { jobId: op.id });
    } catch (err) {
      this.logger.warn({ err, operationId: op.id }, 'enqueue failed; the sweeper will retry');
    }
  }

  /**
   * Re-enqueues operations that never reached the queue (Redis was down at accept time), and
   * schedules again the readiness check of a parked create whose wake-up job was lost (the job
   * id dedupes it while it still waits).
   */
  async sweepQueued(olderThanSeconds: number): Promise<number> {
    const ops = await this.ds.getRepository(ProvisioningOperation).createQueryBuilder('o')
      .where(`o.state = 'queued' AND o.created_at < now() - make_interval(secs => :s)`, { s: olderThanSeconds })
      .take(500).getMany();
    for (const op of ops) await this.dispatch(op);
    const parked = await this.ds.getRepository(ProvisioningOperation).createQueryBuilder('o')
      .where(`o.state = 'running' AND o.lease_owner IS NULL AND o.updated_at < now() - make_interval(secs => :s)`, { s: olderThanSeconds })
      .take(500).getMany();
    for (const op of parked) {
      const wakeId = readinessWakeId(op.id, op.checkpoint.readyChecks ?? 0);
      await this.queues.enqueue(KernelQueue.provisioning, PROVISION_JOB, { operationId: op.id, resumed: true }, { jobId: wakeId })
        .catch((err) => this.logger.warn({ err, operationId: op.id }, 'enqueue failed; the sweeper will retry'));
    }
    return ops.length + parked.length;
  }

  /** The body was validated against its type's schema by the router; the type is known to be enabled. */
  private async plan(account: AccountView, body: CreateInstanceBody): Promise<ProvisionPlan> {
    const type = instanceTypeOf(this.types(), body);
    if (!type || type.kind !== body.kind) {
      throw new InvalidRequestError(`No ${body.kind} type "${body.type}" is enabled`, { fields: [{ path: 'body.type', message: 'not an enabled type' }] });
    }
    const base: ProvisionPlan = {
      account, kind: type.kind, type: type.type, name: body.name, options: body.options, portNeeds: [], agentPayload: {},
    };
    return this.hooks.beforeProvision.promise(await type.plan(base));
  }

  private insertOperation(m: EntityManager, fields: Partial<ProvisioningOperation>): Promise<ProvisioningOperation> {
    const repo = m.getRepository(ProvisioningOperation);
    return repo.save(repo.create({
      ...fields, state: 'queued', phase: 'queued', checkpoint: {},
      deadlineAt: new Date(Date.now() + this.config.provisioning.deadlineSeconds * 1000),
    }));
  }
}

function replay(op: ProvisioningOperation, hash: string): ProvisioningOperation {
  if (op.requestHash !== hash) throw new IdempotencyKeyReusedError();
  return op;
}
