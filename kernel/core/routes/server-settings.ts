import { Readable } from 'node:stream';
import { z } from 'zod';
import { BillingGate, ETAG, EdgeProvider, ForbiddenError, HostingProvider, IF_MATCH, InvalidRequestError, OPERATION_LOCATION, assertEntitled, conditional, idempotencyKeyHeader, jsonTag, operationAccepted, requireMatch } from '../../api';
import type { ApiRouter, InstanceView, Operations, PortRef } from '../../api';
import { Instance, instanceView } from '../entities';
import { fromAgentError } from '../files/agent-failures';
import { relayedJson } from '../files/relay';
import { serverView } from '../operations/views';
import { currentOptions, mergedOptions, setupFor, type ServerSetupDeps } from '../operations/reinstall';
import { serverSchema } from './schemas';

interface Deps extends ServerSetupDeps {
  optional<T>(port: PortRef<T>): T | undefined;
  hosting(): HostingProvider;
  operations: Operations;
}

const idParam = z.object({ id: z.uuid() });
const settingsAnswer = z.object({
  settings: z.record(z.string(), z.unknown()).meta({ description: 'The type\'s settings, keyed as its settings file names them (a game server\'s motd, max-players …)' }),
});

/** The agent's properties (text) as the schema's values: numbers and booleans parsed; what does not fit is left out. */
function fromProperties(schema: z.ZodObject, properties: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(schema.shape)) {
    const raw = properties[key];
    if (raw === undefined) continue;
    for (const candidate of [raw, Number(raw), raw === 'true' ? true : raw === 'false' ? false : undefined]) {
      if (candidate === undefined || (typeof candidate === 'number' && Number.isNaN(candidate))) continue;
      const parsed = schema.shape[key].safeParse(candidate);
      if (parsed.success && parsed.data !== undefined) {
        out[key] = parsed.data;
        break;
      }
    }
  }
  return out;
}

/** Rename, memory, the type's structured settings, and reinstall (an operation with a backup first). */
export function serverSettingsRoutes(r: ApiRouter, deps: Deps): void {
  const agentJson = async (instance: InstanceView, method: 'GET' | 'PUT', body?: unknown) => {
    const bytes = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const answer = await deps.agent().request(instance, {
      method, path: '/settings',
      ...(bytes ? { headers: { 'content-type': 'application/json', 'content-length': String(bytes.length) }, body: Readable.from([bytes]) } : {}),
    }).catch((err: unknown) => { throw fromAgentError(err); });
    return (await relayedJson(answer)) as { properties: Record<string, string> };
  };
  const schemaOf = async (instance: InstanceView) => {
    const row = await deps.ds.getRepository(Instance).findOneByOrFail({ id: instance.id });
    const { type } = await currentOptions(deps, row);
    if (!type.settingsSchema) throw new InvalidRequestError(`Servers of type ${type.type} have no structured settings`);
    return type.settingsSchema;
  };

  r.route({
    method: 'patch', path: '/api/servers/:id', summary: 'Rename, or change the memory (the container is resized; the game\'s heap follows at its next start)', auth: 'user', tags: ['instances'],
    description: 'A write to the server GET /api/servers/{id} tags: `If-Match` with its ETag makes it conditional (412 once stale), and the answer\'s ETag is the server\'s new one.',
    operationId: 'updateServer', errors: [402, 409, 412, 502, 503],
    responses: { 200: z.object({ server: serverSchema, restartRequired: z.boolean().meta({ description: 'True when a change applies only once the server restarts' }) }) },
    headers: z.object({ 'If-Match': IF_MATCH }), responseHeaders: ETAG,
    params: idParam, body: z.object({ name: z.string().trim().min(1).max(64).optional(), memoryMb: z.number().int().positive().optional() }).strict(),
    server: { permission: 'settings', mutation: true, action: 'server.update', activity: 'server.update' },
    handler: async ({ body, server, koa }) => {
      const repo = deps.ds.getRepository(Instance);
      const row = await repo.findOneByOrFail({ id: server.id });
      // The same representation, so the same tag, as GET /api/servers/:id answers.
      const tagOf = (instance: Instance) => jsonTag({ server: serverView(instance, deps.optional(EdgeProvider)?.playerAddress(instanceView(instance)) ?? null) });
      if (conditional(koa)) requireMatch(koa, 'The server', tagOf(row));
      let restartRequired = false;
      if (body.memoryMb !== undefined) {
        const { type, options } = await currentOptions(deps, row);
        const next = mergedOptions(type, options, { memoryMb: body.memoryMb });
        const plan = await deps.optional(BillingGate)?.entitlementsOf(row.ownerId);
        if (plan && body.memoryMb > plan.memoryMbMax) throw new ForbiddenError(`The ${plan.plan} plan allows at most ${plan.memoryMbMax} MB`, { memoryMbMax: plan.memoryMbMax });
        const setup = await setupFor(deps, row, type, next);
        if (row.vmid === null || row.node === null) throw new InvalidRequestError('The server has no container yet');
        await deps.hosting().resize({ vmid: row.vmid, node: row.node }, setup.plan.memoryMb ?? body.memoryMb);
        // The agent keeps the payload it starts the game with: the new heap applies from the next start.
        await deps.agent().provision(instanceView(row), setup.payload).catch((err: unknown) => { throw fromAgentError(err); });
        row.options = next;
        restartRequired = row.state === 'running';
      }
      if (body.name !== undefined) row.name = body.name;
      await repo.save(row);
      const connect = deps.optional(EdgeProvider)?.playerAddress(instanceView(row)) ?? null;
      return { body: { server: serverView(row, connect), restartRequired }, headers: { ETag: tagOf(row) } };
    },
  });

  r.route({
    method: 'get', path: '/api/servers/:id/settings', summary: 'The type\'s structured settings, as the server\'s settings file holds them', auth: 'user', tags: ['instances'],
    operationId: 'getServerSettings', responses: { 200: settingsAnswer }, errors: [409, 502],
    params: idParam, server: { permission: 'settings' },
    handler: async ({ server }) => {
      const schema = await schemaOf(server);
      return { body: { settings: fromProperties(schema, (await agentJson(server, 'GET')).properties) } };
    },
  });

  r.route({
    method: 'put', path: '/api/servers/:id/settings', summary: 'Change settings (validated by the type\'s schema; applied at the next start)', auth: 'user', tags: ['instances'],
    operationId: 'updateServerSettings', errors: [402, 409, 502],
    responses: { 200: settingsAnswer.extend({ restartRequired: z.boolean() }) },
    params: idParam, body: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).meta({ description: 'Any of the type\'s settings (see GET)' }),
    server: { permission: 'settings', mutation: true, action: 'settings.update', activity: 'settings.update' },
    handler: async ({ body, server }) => {
      const schema = await schemaOf(server);
      const parsed = schema.safeParse(body);
      if (!parsed.success) {
        throw new InvalidRequestError('Invalid settings', { fields: parsed.error.issues.map((i) => ({ path: `body.${i.path.join('.') || i.message}`, message: i.message })) });
      }
      const properties = Object.fromEntries(Object.entries(parsed.data).map(([k, v]) => [k, String(v)]));
      const written = await agentJson(server, 'PUT', { properties });
      return { body: { settings: fromProperties(schema, written.properties), restartRequired: server.state === 'running' } };
    },
  });

  r.route({
    method: 'post', path: '/api/servers/:id/reinstall', summary: 'Reinstall (202 with the operation): a backup first; the world is kept unless wipe, which needs confirm', auth: 'user', tags: ['instances'],
    description: 'Change `version` or `flavor` keeping the files, or start from scratch with `wipe: true` and `confirm` set to the server\'s name.',
    operationId: 'reinstallServer', responses: { 202: operationAccepted }, errors: [402, 409, 422],
    responseHeaders: OPERATION_LOCATION,
    headers: idempotencyKeyHeader,
    params: idParam,
    body: z.object({
      version: z.string().max(32).optional(), flavor: z.string().max(32).optional(),
      wipe: z.boolean().default(false), confirm: z.string().max(64).optional().meta({ description: 'The server\'s name, required with wipe' }),
    }).strict(),
    server: { permission: 'settings', mutation: true, action: 'server.reinstall', activity: 'server.reinstall' },
    handler: async ({ body, account, koa, server }) => {
      if (body.wipe && body.confirm !== server.name) {
        throw new InvalidRequestError('Wiping the server needs confirm set to its name', { fields: [{ path: 'body.confirm', message: 'must be the server\'s name' }] });
      }
      const row = await deps.ds.getRepository(Instance).findOneByOrFail({ id: server.id });
      const { type, options } = await currentOptions(deps, row);
      const change = Object.fromEntries(Object.entries({ version: body.version, flavor: body.flavor }).filter(([, v]) => v !== undefined));
      const next = mergedOptions(type, options, change);
      // A reinstall provisions the server anew: the owner's plan must include what it becomes, as at create.
      const { plan } = await setupFor(deps, row, type, next);
      assertEntitled((await deps.optional(BillingGate)?.entitlementsOf(row.ownerId)) ?? null, plan.choices ?? {});
      const operation = await deps.operations.start(account, server.id, 'kernel.reinstall', { options: next, wipe: body.wipe },
        { idempotencyKey: koa.get('idempotency-key') || undefined });
      return { status: 202, body: { operation }, headers: { Location: `/api/operations/${operation.id}` } };
    },
  });
}
