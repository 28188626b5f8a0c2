import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { API_KEY_SCOPES, nullableTimestamp, timestamp } from '../../api';
import type { ActivityLog, ApiRouter } from '../../api';
import { ApiKey } from '../entities';
import { apiKeyView, isAddressRule, type ApiKeys } from '../auth/api-keys';
import { pageQuery, pageRows, paged } from '../http/paging';

const apiKeySchema = z.object({
  id: z.uuid(), name: z.string(), prefix: z.string().meta({ description: 'The first characters of the secret, to recognise it' }),
  scopes: z.array(z.enum(API_KEY_SCOPES)), expiresAt: nullableTimestamp(), lastUsedAt: nullableTimestamp(), lastUsedIp: z.string().nullable(),
  allowedIps: z.array(z.string()).nullable(), createdAt: timestamp(),
}).meta({ id: 'ApiKey' });

/** Personal API keys. These routes take a login session only: a key cannot mint or list keys. */
export function apiKeyRoutes(r: ApiRouter, deps: { ds: DataSource; keys: ApiKeys; activity: ActivityLog }): void {
  r.route({
    method: 'post', path: '/api/me/api-keys', summary: 'Make a personal API key (the secret is shown once)', auth: 'user', tags: ['api-keys'],
    description: 'Use it as `Authorization: Bearer zpk_…` on the routes its scopes cover; `admin` needs the admin role.',
    operationId: 'createApiKey', responses: { 201: z.object({ apiKey: apiKeySchema, secret: z.string().meta({ description: 'zpk_…, shown only now' }) }) },
    body: z.object({
      name: z.string().trim().min(1).max(80),
      scopes: z.array(z.enum(API_KEY_SCOPES)).min(1),
      expiresAt: z.iso.datetime({ offset: true }).transform((s) => new Date(s)).nullable().optional(),
      allowedIps: z.array(z.string().refine(isAddressRule, 'is not an IP address or CIDR block')).max(50).nullable().optional(),
    }).strict(),
    handler: async ({ body, account, ip }) => {
      const { key, secret } = await deps.keys.create(account, body);
      await deps.activity.record({ instanceId: null, event: 'apiKey.create', actor: { type: 'user', id: account.id }, ip, properties: { keyId: key.id, name: key.name, scopes: key.scopes } });
      return { status: 201, body: { apiKey: apiKeyView(key), secret } };
    },
  });

  r.route({
    method: 'get', path: '/api/me/api-keys', summary: 'Your API keys (never their secrets)', auth: 'user', tags: ['api-keys'],
    operationId: 'listApiKeys', responses: { 200: paged({ apiKeys: z.array(apiKeySchema) }) }, query: pageQuery({}),
    handler: async ({ query, account }) => {
      const qb = deps.ds.getRepository(ApiKey).createQueryBuilder('k').where('k.account_id = :a AND k.revoked_at IS NULL', { a: account.id });
      const page = await pageRows(qb, query, { column: 'created_at', direction: 'ASC' });
      return { body: { apiKeys: page.items.map(apiKeyView), nextCursor: page.nextCursor } };
    },
  });

  r.route({
    method: 'delete', path: '/api/me/api-keys/:id', summary: 'Revoke an API key (at once)', auth: 'user', tags: ['api-keys'],
    operationId: 'deleteApiKey', responses: { 204: null }, params: z.object({ id: z.uuid() }),
    handler: async ({ params, account, ip }) => {
      await deps.keys.revoke(account.id, params.id);
      await deps.activity.record({ instanceId: null, event: 'apiKey.delete', actor: { type: 'user', id: account.id }, ip, properties: { keyId: params.id } });
      return { status: 204 };
    },
  });
}
