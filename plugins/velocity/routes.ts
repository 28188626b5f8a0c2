import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import { z } from 'zod';
import { UnauthenticatedError } from '../../kernel/api';
import type { ApiRouter } from '../../kernel/api';
import { PROXY_EVENTS, type ProxyRegistrations } from './registrations';

const backend = z.object({
  name: z.string(), address: z.string(), port: z.number().int(),
  forcedHosts: z.array(z.string()).meta({ description: 'Host names players type that the proxy routes straight to this server (its player address); empty when no edge publishes one' }),
});
const eventBody = z.object({
  server: z.string().min(1).max(64),
  event: z.enum(PROXY_EVENTS),
  at: z.iso.datetime({ offset: true }),
});
/** The bridge's own bearer token, checked by these routes themselves. */
const PROXY_TOKEN = { scheme: 'proxyToken', description: 'The token shared with the Velocity bridge (velocity plugin option proxyToken)' };
/** The proxy's events are a few dozen bytes; an unauthenticated route takes no more than this. */
const EVENT_BODY_LIMIT = 4 * 1024;

/** The internal endpoints the Velocity bridge calls (proxy token) and the admin's resync. */
export function velocityRoutes(r: ApiRouter, registrations: ProxyRegistrations, proxyToken: string): void {
  const requireProxy = (koa: Context) => {
    if (!presentsToken(koa, proxyToken)) throw new UnauthenticatedError('A valid proxy token is required');
  };

  r.route({
    method: 'get', path: '/api/velocity/rehydrate', summary: 'Ready game servers for a starting proxy (DB + Redis only; proxy token)',
    auth: PROXY_TOKEN, tags: ['velocity'], operationId: 'rehydrateProxy',
    responses: { 200: z.object({ servers: z.array(backend) }) },
    handler: async ({ koa }) => {
      requireProxy(koa);
      const servers = (await registrations.rehydrate()).map((b) => ({ ...b, forcedHosts: b.forcedHosts ?? [] }));
      return { body: { servers } };
    },
  });

  r.route({
    method: 'post', path: '/api/velocity/resync', summary: 'Re-register every ready game server with the proxy', auth: 'admin', tags: ['velocity'],
    operationId: 'resyncProxy',
    responses: { 200: z.object({ registered: z.number().int(), failed: z.array(z.object({ name: z.string(), error: z.string() })) }) },
    handler: async () => ({ body: await registrations.resync() }),
  });

  r.route({
    method: 'post', path: '/api/velocity/events', summary: 'The proxy reports on a backend; lands in the server status (proxy token)',
    auth: PROXY_TOKEN, tags: ['velocity'], body: eventBody, bodyLimit: EVENT_BODY_LIMIT, operationId: 'reportProxyEvent', errors: [404],
    responses: { 200: z.object({ proxy: z.object({ state: z.string(), lastEvent: z.string(), at: z.string() }) }) },
    handler: async ({ koa, body }) => {
      requireProxy(koa);
      return { body: { proxy: await registrations.recordEvent(body.server, body.event, body.at) } };
    },
  });
}

/**
 * Constant-time check of `Authorization: Bearer <token>`. Both sides are hashed first so the
 * comparison never reveals the token's length; an empty configured token admits no one.
 */
function presentsToken(koa: Context, expected: string): boolean {
  const presented = /^Bearer (.+)$/.exec(koa.get('authorization'))?.[1];
  if (!expected || !presented) return false;
  return timingSafeEqual(digest(presented), digest(expected));
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
