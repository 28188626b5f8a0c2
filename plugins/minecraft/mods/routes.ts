import { z } from 'zod';
import { InvalidRequestError, Tokens, idempotencyKeyHeader, operationAccepted, timestamp } from '../../../kernel/api';
import type { AccountView, ApiRouter, InstanceView, PluginContext } from '../../../kernel/api';
import type { InstalledMod } from './installed-mod';
import { MOD_OPERATIONS, type ModChangeInput } from './operations';
import { exportManifest, manifestSchema } from './manifest';
import type { Modpacks } from './modpack';
import type { ModService } from './service';

const params = z.object({ id: z.uuid() });
const modParams = z.object({ id: z.uuid(), modId: z.uuid() });
const catalogId = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a catalog id or slug');

/** An opaque cursor holding the offset of the next page in the list's stable order. */
const cursor = z.string().max(64).transform((text, ctx) => {
  const offset = /^[A-Za-z0-9_-]+$/.test(text) ? Number(Buffer.from(text, 'base64url').toString('utf8').replace(/^m:/, '')) : NaN;
  if (Number.isInteger(offset) && offset >= 0) return offset;
  ctx.addIssue({ code: 'custom', message: 'is not a cursor this API issued' });
  return z.NEVER;
});
const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50).meta({ description: 'Items per page' }),
  cursor: cursor.optional().meta({ description: 'The nextCursor of the previous page; absent for the first page' }),
});
const nextCursor = z.string().nullable().meta({ description: 'Pass as cursor to get the next page; null on the last page' });
function page<T>(all: T[], q: { limit: number; cursor?: number }): { items: T[]; nextCursor: string | null } {
  const from = q.cursor ?? 0;
  const items = all.slice(from, from + q.limit);
  return { items, nextCursor: from + q.limit < all.length ? Buffer.from(`m:${from + q.limit}`).toString('base64url') : null };
}

const modSchema = z.object({
  id: z.uuid(),
  projectId: z.string().nullable(),
  versionId: z.string().nullable(),
  name: z.string(),
  slug: z.string(),
  version: z.string(),
  loader: z.string(),
  enabled: z.boolean(),
  source: z.string().meta({ description: 'The catalog (`modrinth`) or `modpack`' }),
  path: z.string().meta({ description: 'The file under the server root, as it is now (`.disabled` when disabled)' }),
  sha512: z.string(),
  dependencies: z.array(z.string()).meta({ description: 'Project ids this mod requires' }),
  dependency: z.boolean().meta({ description: 'Installed because another mod requires it' }),
  blamed: z.object({ crashedAt: z.string(), classification: z.string() }).nullable().meta({ description: 'The last crash report names this mod' }),
  createdAt: timestamp(),
  updatedAt: timestamp(),
}).meta({ id: 'InstalledMod' });

const fixSchema = z.object({
  action: z.enum(['disable', 'install']),
  reason: z.string(),
  modId: z.uuid().optional().meta({ description: 'disable: PATCH this mod with {enabled:false}' }),
  project: z.string().optional().meta({ description: 'install: POST this project id or slug' }),
}).meta({ id: 'ModFix' });

export function modRoutes(r: ApiRouter, ctx: PluginContext<unknown>, mods: ModService, modpacks: Modpacks): void {
  const access = (account: AccountView, id: string, action?: string): Promise<InstanceView> =>
    ctx.resolve(Tokens.Access).require(account, id, 'settings', action ? { mutation: true, action } : {});
  const start = async (account: AccountView, id: string, kind: string, input: ModChangeInput, key: string) =>
    ({ status: 202 as const, body: { operation: await ctx.resolve(Tokens.Operations).start(account, id, `${ctx.name}.${kind}`, input, { idempotencyKey: key || undefined }) } });
  const view = (m: InstalledMod, blamed: ReturnType<ModService['crashFixes']>['blamed']) => ({
    id: m.id, projectId: m.projectId, versionId: m.versionId, name: m.name, slug: m.slug, version: m.versionNumber, loader: m.loader,
    enabled: m.enabled, source: m.source, path: m.enabled ? m.filePath : `${m.filePath}.disabled`, sha512: m.sha512, dependencies: m.requires,
    dependency: !m.explicit, blamed: blamed.get(m.id) ?? null, createdAt: m.createdAt, updatedAt: m.updatedAt,
  });

  r.route({
    method: 'get', path: '/api/servers/:id/mods', server: { permission: 'view' }, operationId: 'listServerMods', tags: ['mods'], auth: 'user', params, query: pageQuery,
    summary: 'Mods and plugins installed on a server, with the fixes a crash suggests',
    responses: {
      200: z.object({
        mods: z.array(modSchema), nextCursor,
        restartNeeded: z.boolean().meta({ description: 'A change waits for the next start' }),
        fixes: z.array(fixSchema).meta({ description: 'What the last crash suggests (disable the blamed mod, install a missing dependency)' }),
      }),
    },
    errors: [402],
    handler: async ({ query, server }) => {
      const instance = server;
      await modpacks.importInstalled(instance);
      const all = await mods.installed(instance.id);
      const { blamed, fixes } = mods.crashFixes(instance, all);
      const { items, nextCursor: next } = page(all, query);
      return { body: { mods: items.map((m) => view(m, blamed)), nextCursor: next, restartNeeded: !!mods.section(instance).restartNeeded, fixes } };
    },
  });

  r.route({
    method: 'post', path: '/api/servers/:id/mods', server: { permission: 'settings', mutation: true, action: 'mods.install', activity: 'mods.install' }, operationId: 'installServerMod', tags: ['mods'], auth: 'user', params, headers: idempotencyKeyHeader,
    summary: 'Install a mod or plugin (the best version for the server, with its required dependencies)',
    description: 'Conflicts (another loader or game version, a declared incompatibility, already installed) are 409 naming them; '
      + 'a catalog that is rate-limiting or down is 503 with Retry-After and nothing starts.',
    body: z.object({ projectId: catalogId, versionId: catalogId.optional() }).strict(),
    responses: { 202: operationAccepted }, errors: [402, 403, 409, 422, 502, 503],
    handler: async ({ account, params: p, body, koa }) => {
      const instance = await access(account, p.id, 'mods.install');
      await mods.requireModsAllowed(instance.ownerId);
      const input = await mods.planInstall(instance, body.projectId, body.versionId);
      return start(account, instance.id, MOD_OPERATIONS.install, input, koa.get('idempotency-key'));
    },
  });

  r.route({
    method: 'patch', path: '/api/servers/:id/mods/:modId', server: { permission: 'settings', mutation: true, action: 'mods.change', activity: 'mods.change' }, operationId: 'changeServerMod', tags: ['mods'], auth: 'user', params: modParams, headers: idempotencyKeyHeader,
    summary: 'Enable, disable or change the version of an installed mod',
    body: z.object({ enabled: z.boolean().optional(), versionId: catalogId.optional() }).strict(),
    responses: { 202: operationAccepted }, errors: [402, 403, 409, 422, 502, 503],
    handler: async ({ account, params: p, body, koa }) => {
      if (body.versionId === undefined && body.enabled === undefined) throw new InvalidRequestError('Give enabled or versionId', { fields: [{ path: 'body', message: 'enabled or versionId is required' }] });
      if (body.versionId !== undefined && body.enabled === false) throw new InvalidRequestError('A version change enables the mod', { fields: [{ path: 'body.enabled', message: 'cannot be false with versionId' }] });
      const action = body.versionId ? 'mods.update' : body.enabled ? 'mods.enable' : 'mods.disable';
      const instance = await access(account, p.id, action);
      const mod = await mods.mod(instance.id, p.modId);
      if (body.versionId || body.enabled) await mods.requireModsAllowed(instance.ownerId);
      const key = koa.get('idempotency-key');
      if (body.versionId) return start(account, instance.id, MOD_OPERATIONS.update, await mods.planUpdate(instance, mod, body.versionId), key);
      const input = mods.planToggle(mod, body.enabled!, await mods.installed(instance.id));
      return start(account, instance.id, body.enabled ? MOD_OPERATIONS.enable : MOD_OPERATIONS.disable, input, key);
    },
  });

  r.route({
    method: 'delete', path: '/api/servers/:id/mods/:modId', server: { permission: 'settings', mutation: true, action: 'mods.remove', activity: 'mods.remove' }, operationId: 'removeServerMod', tags: ['mods'], auth: 'user', params: modParams, headers: idempotencyKeyHeader,
    summary: 'Remove a mod (409 naming the mods that require it, unless cascade=true removes them too)',
    query: z.object({ cascade: z.enum(['true', 'false']).default('false').meta({ description: 'Also remove the mods that require it' }) }),
    responses: { 202: operationAccepted }, errors: [402, 409, 422],
    handler: async ({ account, params: p, query, koa }) => {
      const instance = await access(account, p.id, 'mods.remove');
      const mod = await mods.mod(instance.id, p.modId);
      const input = mods.planRemove(mod, await mods.installed(instance.id), query.cascade === 'true');
      return start(account, instance.id, MOD_OPERATIONS.remove, input, koa.get('idempotency-key'));
    },
  });

  r.route({
    method: 'get', path: '/api/servers/:id/mods/updates', server: { permission: 'view' }, operationId: 'listServerModUpdates', tags: ['mods'], auth: 'user', params, query: pageQuery,
    summary: 'Newer versions of the installed mods that fit the server', responses: {
      200: z.object({
        updates: z.array(z.object({
          modId: z.uuid(), projectId: z.string(), name: z.string(), currentVersionId: z.string().nullable(), currentVersion: z.string(),
          latestVersionId: z.string(), latestVersion: z.string(), publishedAt: z.string(),
        })),
        nextCursor,
      }),
    },
    errors: [402, 409, 502, 503],
    handler: async ({ query, server }) => {
      const instance = server;
      const { items, nextCursor: next } = page(await mods.installed(instance.id), query);
      return { body: { updates: await mods.updates(instance, items), nextCursor: next } };
    },
  });

  r.route({
    method: 'get', path: '/api/servers/:id/mods/export', server: { permission: 'view' }, operationId: 'exportServerMods', tags: ['mods'], auth: 'user', params,
    summary: "The server's mod list as a manifest (a Modrinth modpack index: files with hashes, env sides and download URLs)",
    responses: { 200: manifestSchema }, errors: [402, 409],
    handler: async ({ server }) => {
      const instance = server;
      return { body: exportManifest(instance, mods.game(instance), await mods.installed(instance.id)) };
    },
  });
}
