import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { InstanceAgent, InvalidRequestError, NotFoundError } from '../../api';
import type { ApiRouter, EnforcementState, InstanceType, PortRef } from '../../api';
import { Instance, ProvisioningOperation, instanceView } from '../entities';
import type { InstanceService } from '../operations/instances';
import { createInstanceBody, idempotencyKey } from '../operations/request';
import type { ReadinessCache } from '../operations/readiness-cache';
import type { StatusSections } from '../status-sections';
import { operationView, serverView } from '../operations/views';
import { crashSchema, enforcementState, openObject, operationSchema, serverSchema } from './schemas';

interface Deps {
  ds: DataSource;
  instances: InstanceService;
  probes: ReadinessCache;
  optional<T>(port: PortRef<T>): T | undefined;
  billingState(accountId: string): Promise<EnforcementState>;
  /** The enabled types, each validating its own create options. */
  types: readonly InstanceType[];
  sections: StatusSections;
}

const idParam = z.object({ id: z.uuid() });
const adminServer = serverSchema.extend({ ownerId: z.uuid() });
const adminOperation = operationSchema.extend({ accountId: z.uuid(), attempts: z.number().int(), checkpoint: openObject('Provisioning progress, for diagnosis') });
/** Kernel fields, then one field per status section a plugin adds (null when its reader failed). */
const status = z.object({
  state: serverSchema.shape.state,
  agentReady: z.boolean(),
  ready: z.boolean(),
  crash: crashSchema.partial().nullable().meta({ description: 'The last crash report, or null' }),
  billing: z.object({ state: enforcementState }),
}).catchall(z.unknown());
const opStates = z.enum(['queued', 'running', 'succeeded', 'failed', 'stale']);
const operationAccepted = z.object({ operation: operationSchema });
const accepted = (op: ProvisioningOperation) => ({
  status: 202 as const, body: { operation: operationView(op) }, headers: { Location: `/api/operations/${op.id}` },
});

export function instanceRoutes(r: ApiRouter, { ds, instances, probes, optional, billingState, types, sections }: Deps): void {
  r.route({
    method: 'post', path: '/api/instances', summary: 'Create a game server or dev container (Idempotency-Key required)', auth: 'user', tags: ['instances'],
    operationId: 'createInstance', responses: { 202: operationAccepted }, errors: [402, 403, 422, 429],
    headers: z.object({ 'Idempotency-Key': idempotencyKey.meta({ description: 'Required. The same key with the same body returns the same operation; with another body 422' }) }),
    body: createInstanceBody(types),
    handler: async ({ body, account, koa }) => {
      const header = koa.get('idempotency-key');
      const key = idempotencyKey.safeParse(header);
      if (!key.success) {
        const problem = header === '' ? 'is required' : `is invalid: ${key.error.issues[0].message}`;
        throw new InvalidRequestError(`Idempotency-Key header ${problem}`, { fields: [{ path: 'header.Idempotency-Key', message: key.error.issues[0].message }] });
      }
      return accepted(await instances.requestCreate(account, key.data, body));
    },
  });

  r.route({
    method: 'get', path: '/api/operations/:id', summary: 'One of your operations', auth: 'user', tags: ['instances'],
    operationId: 'getOperation', responses: { 200: operationSchema },
    params: idParam,
    handler: async ({ params, account }) => {
      const op = await ds.getRepository(ProvisioningOperation).findOneBy({ id: params.id, accountId: account.id });
      if (!op) throw new NotFoundError('Operation');
      return { body: operationView(op) };
    },
  });

  r.route({
    method: 'get', path: '/api/operations', summary: 'Your operations, newest first', auth: 'user', tags: ['instances'],
    operationId: 'listOperations', responses: { 200: z.object({ operations: z.array(operationSchema) }) },
    query: z.object({ state: opStates.optional(), limit: z.coerce.number().int().min(1).max(200).default(50) }),
    handler: async ({ query, account }) => {
      const ops = await ds.getRepository(ProvisioningOperation).find({
        where: { accountId: account.id, ...(query.state ? { state: query.state } : {}) }, order: { createdAt: 'DESC' }, take: query.limit,
      });
      return { body: { operations: ops.map(operationView) } };
    },
  });

  r.route({
    method: 'get', path: '/api/servers', summary: 'Your servers and dev containers', auth: 'user', tags: ['instances'],
    operationId: 'listServers', responses: { 200: z.object({ servers: z.array(serverSchema) }) },
    handler: async ({ account }) => {
      const rows = await ds.getRepository(Instance).createQueryBuilder('i')
        .where('i.owner_id = :id AND i.deleted_at IS NULL', { id: account.id }).orderBy('i.created_at', 'ASC').getMany();
      return { body: { servers: rows.map(serverView) } };
    },
  });

  r.route({
    method: 'get', path: '/api/servers/:id', summary: 'One of your servers', auth: 'user', tags: ['instances'],
    operationId: 'getServer', responses: { 200: z.object({ server: serverSchema }) },
    params: idParam,
    handler: async ({ params, account }) => ({ body: { server: serverView(await instances.owned(account, params.id)) } }),
  });

  r.route({
    method: 'delete', path: '/api/servers/:id', summary: 'Tear a server down (202 with the delete operation)', auth: 'user', tags: ['instances'],
    operationId: 'deleteServer', responses: { 202: operationAccepted }, errors: [409],
    params: idParam,
    handler: async ({ params, account }) => accepted(await instances.requestDelete(account, params.id)),
  });

  r.route({
    method: 'get', path: '/api/servers/:id/status', summary: 'Live status: DB state merged with the agent’s semantic readiness', auth: 'user', tags: ['instances'],
    operationId: 'getServerStatus', responses: { 200: status }, errors: [502],
    params: idParam,
    handler: async ({ params, account }) => {
      const instance = await instances.owned(account, params.id);
      const agent = optional(InstanceAgent);
      const view = instanceView(instance);
      // A live probe, shown as is: the readiness record changes only on transitions (see InstanceReadiness).
      const probe = instance.address && agent && instance.state !== 'provisioning'
        ? await probes.get(instance.id, () => agent.ready(view))
        : { ready: false };
      return {
        body: {
          state: instance.state,
          agentReady: probe.ready,
          ready: instance.state === 'running' && probe.ready,
          ...(await sections.read(view)),
          crash: instance.lastCrash,
          billing: { state: await billingState(account.id) },
        },
      };
    },
  });

  r.route({
    method: 'get', path: '/api/admin/servers', summary: 'Every live instance', auth: 'admin', tags: ['admin'],
    operationId: 'adminListServers', responses: { 200: z.object({ servers: z.array(adminServer) }) },
    handler: async () => {
      const rows = await ds.getRepository(Instance).createQueryBuilder('i').where('i.deleted_at IS NULL').orderBy('i.created_at', 'ASC').take(1000).getMany();
      return { body: { servers: rows.map((i) => ({ ...serverView(i), ownerId: i.ownerId })) } };
    },
  });

  r.route({
    method: 'get', path: '/api/admin/operations', summary: 'Operations of every account', auth: 'admin', tags: ['admin'],
    operationId: 'adminListOperations', responses: { 200: z.object({ operations: z.array(adminOperation) }) },
    query: z.object({ state: opStates.optional(), limit: z.coerce.number().int().min(1).max(500).default(100) }),
    handler: async ({ query }) => {
      const ops = await ds.getRepository(ProvisioningOperation).find({ where: query.state ? { state: query.state } : {}, order: { createdAt: 'DESC' }, take: query.limit });
      return { body: { operations: ops.map((o) => ({ ...operationView(o), accountId: o.accountId, attempts: o.attempts, checkpoint: o.checkpoint })) } };
    },
  });
}
