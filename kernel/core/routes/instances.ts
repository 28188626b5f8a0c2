import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { EdgeProvider, InstanceAgent, InvalidRequestError, NotFoundError, OPERATION_LOCATION } from '../../api';
import type { ApiRouter, EnforcementState, InstanceType, PortRef } from '../../api';
import { Instance, ProvisioningOperation, instanceView } from '../entities';
import type { InstanceService } from '../operations/instances';
import { createInstanceBody, idempotencyKey } from '../operations/request';
import type { ReadinessCache } from '../operations/readiness-cache';
import type { StatusSections } from '../status-sections';
import { operationView, serverView } from '../operations/views';
import { ETAG, IF_MATCH, IF_NONE_MATCH, jsonTag, requireMatch } from '../http/etag';
import { pageQuery, pageRows, paged, since } from '../http/paging';
import { ServerList } from './server-list';
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
const kernelStatus = z.object({
  state: serverSchema.shape.state,
  agentReady: z.boolean(),
  ready: z.boolean(),
  crash: crashSchema.partial().nullable().meta({ description: 'The last crash report, or null' }),
  billing: z.object({ state: enforcementState }).nullable().meta({ description: 'The owner\'s billing state; null for the accounts the server is shared with' }),
});
const opStates = z.enum(['queued', 'running', 'succeeded', 'failed', 'stale']);
const instanceStates = z.enum(['provisioning', 'running', 'stopped', 'crashed', 'error', 'deleting']);
const operationsQuery = pageQuery({
  state: opStates.optional(),
  since: since.optional().meta({ description: 'Only operations created at or after this instant' }),
});
const serversQuery = pageQuery({
  state: instanceStates.optional(),
  type: z.string().max(64).optional().meta({ description: 'An instance type, e.g. paper' }),
  since: since.optional().meta({ description: 'Only servers created at or after this instant' }),
});
const NEWEST_FIRST = { column: 'created_at', direction: 'DESC' } as const;
const operationAccepted = z.object({ operation: operationSchema });
const accepted = (op: ProvisioningOperation) => ({
  status: 202 as const, body: { operation: operationView(op) }, headers: { Location: `/api/operations/${op.id}` },
});

export function instanceRoutes(r: ApiRouter, { ds, instances, probes, optional, billingState, types, sections }: Deps): void {
  const view = (i: Instance) => serverView(i, optional(EdgeProvider)?.playerAddress(instanceView(i)) ?? null);
  const list = new ServerList(ds);
  // Plugins added their sections while registering, before the kernel's routes: each is described with its own schema.
  const status = kernelStatus.extend(sections.shape());
  const operations = (q: z.infer<typeof operationsQuery>) => {
    const qb = ds.getRepository(ProvisioningOperation).createQueryBuilder('o').where('TRUE');
    if (q.state) qb.andWhere('o.state = :state', { state: q.state });
    if (q.since) qb.andWhere('o.created_at >= :since', { since: q.since });
    return qb;
  };

  r.route({
    method: 'post', path: '/api/instances', summary: 'Create a game server or dev container (Idempotency-Key required)', auth: 'user', tags: ['instances'],
    operationId: 'createInstance', responses: { 202: operationAccepted }, errors: [402, 403, 409, 422, 429, 502], scope: 'servers.write',
    responseHeaders: OPERATION_LOCATION,
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
    operationId: 'listOperations', responses: { 200: paged({ operations: z.array(operationSchema) }) },
    query: operationsQuery,
    handler: async ({ query, account }) => {
      const page = await pageRows(operations(query).andWhere('o.account_id = :account', { account: account.id }), query, NEWEST_FIRST);
      return { body: { operations: page.items.map(operationView), nextCursor: page.nextCursor } };
    },
  });

  r.route({
    method: 'get', path: '/api/servers', summary: 'Your servers and dev containers, and those shared with you, oldest first', auth: 'user', tags: ['instances'],
    operationId: 'listServers', responses: { 200: paged({ servers: z.array(serverSchema) }) },
    query: serversQuery, scope: 'servers.read',
    handler: async ({ query, account }) => {
      // Theirs, and those shared with them (an accepted invitation).
      return { body: await list.visibleTo(account.id, query, optional(EdgeProvider)) };
    },
  });

  r.route({
    method: 'get', path: '/api/servers/:id', summary: 'One of your servers (ETag; If-None-Match → 304)', auth: 'user', tags: ['instances'],
    operationId: 'getServer', responses: { 200: z.object({ server: serverSchema }), 304: null },
    headers: z.object({ 'If-None-Match': IF_NONE_MATCH }), responseHeaders: ETAG,
    params: idParam, server: { permission: 'view' },
    handler: async ({ params }) => {
      const body = { server: view(await instances.byId(params.id)) };
      return { body, headers: { ETag: jsonTag(body) } };
    },
  });

  r.route({
    method: 'delete', path: '/api/servers/:id', summary: 'Tear a server down (202 with the delete operation; If-Match → 412 when stale)', auth: 'user', tags: ['instances'],
    operationId: 'deleteServer', responses: { 202: operationAccepted }, errors: [402, 409, 412], responseHeaders: OPERATION_LOCATION,
    headers: z.object({ 'If-Match': IF_MATCH }),
    params: idParam, server: { permission: 'owner', activity: 'server.delete' },
    handler: async ({ params, account, koa }) => {
      if (koa.get('if-match')) requireMatch(koa, 'The server', jsonTag({ server: view(await instances.owned(account, params.id)) }));
      return accepted(await instances.requestDelete(account, params.id));
    },
  });

  r.route({
    method: 'get', path: '/api/servers/:id/status', summary: 'Live status: DB state merged with the agent’s semantic readiness', auth: 'user', tags: ['instances'],
    operationId: 'getServerStatus', responses: { 200: status }, errors: [502],
    params: idParam, server: { permission: 'view' },
    handler: async ({ params, server, account }) => {
      const instance = await instances.byId(params.id);
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
          // Billing is the owner's business: the people a server is shared with never see it.
          billing: account.id === server.ownerId ? { state: await billingState(server.ownerId) } : null,
        },
      };
    },
  });

  r.route({
    method: 'get', path: '/api/admin/servers', summary: 'Every live instance, oldest first', auth: 'admin', tags: ['admin'],
    operationId: 'adminListServers', responses: { 200: paged({ servers: z.array(adminServer) }) },
    query: serversQuery,
    handler: async ({ query }) => {
      return { body: await list.everyone(query, optional(EdgeProvider)) };
    },
  });

  r.route({
    method: 'get', path: '/api/admin/operations', summary: 'Operations of every account, newest first', auth: 'admin', tags: ['admin'],
    operationId: 'adminListOperations', responses: { 200: paged({ operations: z.array(adminOperation) }) },
    query: operationsQuery,
    handler: async ({ query }) => {
      const page = await pageRows(operations(query), query, NEWEST_FIRST);
      const rows = page.items.map((o) => ({ ...operationView(o), accountId: o.accountId, attempts: o.attempts, checkpoint: o.checkpoint }));
      return { body: { operations: rows, nextCursor: page.nextCursor } };
    },
  });
}
