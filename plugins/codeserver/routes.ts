import { z } from 'zod';
import { ConflictError, InvalidRequestError, NotFoundError, Tokens, idempotencyKeyHeader, operationAccepted, timestamp } from '../../kernel/api';
import type { AccountView, ApiRouter, InstanceView, PluginContext, ServerPermission } from '../../kernel/api';
import type { RuntimeCatalog } from './catalog';
import type { CodeserverConfig } from './config';
import type { DevAgent } from './dev-agent';
import type { IdeCredentials } from './ide/credentials';
import type { IdeHosts } from './ide/hosts';
import type { IdeService } from './ide/service';
import { RUNTIME_ROLLBACK, RUNTIME_UPGRADE } from './operations';

export interface DevRouteDeps {
  ctx: PluginContext<CodeserverConfig>;
  catalog: RuntimeCatalog;
  dev: DevAgent;
  credentials: IdeCredentials;
  hosts: IdeHosts;
  ide: IdeService;
  type: string;
}

const id = z.object({ id: z.uuid() });
const codeServerView = z.object({
  state: z.string().meta({ description: 'running, stopped …, as the agent reports it' }),
  memoryBytes: z.number().nullable(),
}).meta({ id: 'CodeServerState' });
const runtimeList = z.object({
  runtimes: z.array(z.object({
    runtime: z.string(),
    defaultVersion: z.string(),
    versions: z.array(z.object({ version: z.string(), sha256: z.string().meta({ description: 'SHA-256 of the artifact the agent installs' }) })),
  })),
  nextCursor: z.string().nullable(),
});

export function devRoutes(r: ApiRouter, deps: DevRouteDeps): void {
  const { ctx, catalog, dev } = deps;
  /** Tokens.Access, then the IDE type: any other server is not a dev container (404). */
  const devContainer = async (account: AccountView, instanceId: string, permission: ServerPermission, action: string, mutation = true): Promise<InstanceView> => {
    const instance = await ctx.resolve(Tokens.Access).require(account, instanceId, permission, { mutation, action });
    if (instance.type !== deps.type) throw new NotFoundError('Dev container');
    return instance;
  };
  const idempotencyKey = (get: (h: string) => string) => get('idempotency-key') || undefined;

  r.route({
    method: 'get', path: '/api/dev/runtimes', operationId: 'listDevRuntimes', tags: ['dev'], auth: 'user',
    summary: 'The runtime catalog: each runtime, its versions and their artifact hashes',
    query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), cursor: z.string().regex(/^\d{1,4}$/).optional() }),
    responses: { 200: runtimeList },
    handler: async ({ query }) => {
      const all = catalog.list();
      const from = Number(query.cursor ?? 0);
      const page = all.slice(from, from + query.limit);
      return { body: { runtimes: page, nextCursor: from + query.limit < all.length ? String(from + query.limit) : null } };
    },
  });

  r.route({
    method: 'post', path: '/api/dev/:id/ide-token', operationId: 'createIdeToken', tags: ['dev'], auth: 'user',
    summary: 'A short-lived token that opens this container’s browser IDE, and the hosted URL to open',
    description: 'Bound to this container, your account, your login session and purpose `ide`. Open `url` within `expiresAt`: it sets the IDE cookie on `dev-<vmid>.<devDomain>` and redirects to the IDE.',
    params: id, errors: [402, 409],
    responses: { 200: z.object({ token: z.string(), url: z.string(), expiresAt: timestamp() }) },
    handler: async ({ params, account, sessionId }) => {
      const instance = await devContainer(account, params.id, 'console', 'codeserver.ide-token');
      if (instance.vmid === null) throw new ConflictError('The container is still being created');
      const expiresAt = Date.now() + ctx.config.ide.tokenTtlSeconds * 1000;
      const token = deps.credentials.issue('token', { instanceId: instance.id, accountId: account.id, sessionId, expiresAt });
      const url = deps.hosts.urlOf(instance.vmid, `/api/dev/${instance.id}/ide?token=${encodeURIComponent(token)}`);
      return { body: { token, url, expiresAt: new Date(expiresAt) } };
    },
  });

  r.route({
    method: 'get', path: '/api/dev/:id/ide', operationId: 'openIde', tags: ['dev'], auth: 'none',
    summary: 'IDE bootstrap: exchanges the token for the IDE cookie and redirects to the IDE',
    description: 'On `dev-<vmid>.<devDomain>` the cookie is scoped to that host and the redirect goes to `/`; on the API host (the compatibility path) to `/__ide/{id}/`. The cookie is HttpOnly and SameSite=Lax, and Secure unless `publicScheme` is http (the embedded default).',
    params: id, query: z.object({ token: z.string().max(2048) }), errors: [401, 402],
    responses: { 302: null },
    responseHeaders: { Location: 'Where the IDE is', 'Set-Cookie': 'The IDE cookie (`zpack_ide`)' },
    handler: async ({ params, koa }) => ({ status: 302, headers: await deps.ide.bootstrap(typeof koa.query.token === 'string' ? koa.query.token : undefined, params.id, `/__ide/${params.id}/`, {}) }),
  });

  r.route({
    method: 'post', path: '/api/dev/:id/codeserver/:action', operationId: 'controlCodeServer', tags: ['dev'], auth: 'user',
    summary: 'Starts, stops or restarts code-server in the container (through its agent)',
    params: z.object({ id: z.uuid(), action: z.enum(['start', 'stop', 'restart']) }), errors: [402, 502],
    responses: { 200: z.object({ codeServer: codeServerView }) },
    handler: async ({ params, account }) => {
      const instance = await devContainer(account, params.id, 'power', `codeserver.${params.action}`);
      const codeServer = await dev.codeServer(instance, params.action);
      const view = { state: codeServer?.state ?? 'unknown', memoryBytes: codeServer?.memoryBytes ?? null };
      await ctx.resolve(Tokens.Instances).patchSection(instance.id, ctx.name, { codeServer: view, observedAt: new Date().toISOString() });
      return { body: { codeServer: view } };
    },
  });

  r.route({
    method: 'post', path: '/api/dev/:id/runtime', operationId: 'upgradeDevRuntime', tags: ['dev'], auth: 'user',
    summary: 'Installs another catalog version of the container’s runtime next to the current one and switches to it',
    description: 'An operation (phases `install`, `activate`). The agent checks the artifact’s SHA-256; a failed install leaves the current runtime active. The replaced version is kept for rollback; the workspace is never touched.',
    params: id, body: z.object({ version: z.string().min(1).max(32) }), errors: [402, 409, 422, 502],
    headers: idempotencyKeyHeader,
    responses: { 202: operationAccepted },
    handler: async ({ params, body, account, koa }) => {
      const instance = await devContainer(account, params.id, 'settings', 'codeserver.runtime.upgrade');
      const runtime = await runtimeOf(instance);
      const refused = catalog.refusal(runtime, body.version);
      if (refused) throw new InvalidRequestError(refused.message, { fields: [{ path: 'version', message: refused.message }], allowed: refused.allowed });
      const operation = await ctx.resolve(Tokens.Operations).start(account, instance.id, `${ctx.name}.${RUNTIME_UPGRADE}`, { version: body.version }, { idempotencyKey: idempotencyKey((h) => koa.get(h)) });
      return { status: 202, body: { operation } };
    },
  });

  r.route({
    method: 'post', path: '/api/dev/:id/runtime/rollback', operationId: 'rollbackDevRuntime', tags: ['dev'], auth: 'user',
    summary: 'Switches the container back to the runtime version the last change replaced',
    params: id, errors: [402, 409, 422, 502],
    headers: idempotencyKeyHeader,
    responses: { 202: operationAccepted },
    handler: async ({ params, account, koa }) => {
      const instance = await devContainer(account, params.id, 'settings', 'codeserver.runtime.rollback');
      const operation = await ctx.resolve(Tokens.Operations).start(account, instance.id, `${ctx.name}.${RUNTIME_ROLLBACK}`, {}, { idempotencyKey: idempotencyKey((h) => koa.get(h)) });
      return { status: 202, body: { operation } };
    },
  });

  /** The runtime recorded at provision, else what the agent says. */
  async function runtimeOf(instance: InstanceView): Promise<string> {
    const recorded = (instance.payload[ctx.name] as { runtime?: { name?: string } } | undefined)?.runtime?.name;
    return recorded ?? (await dev.status(instance)).runtime?.name ?? '';
  }
}
