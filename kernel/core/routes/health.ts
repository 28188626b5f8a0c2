import { z } from 'zod';
import type { DataSource } from 'typeorm';
import type { Redis } from 'ioredis';
import { createDocument } from '../http/openapi';
import type { ApiRouter } from '../../api';
import { UnavailableError } from '../../api';
import type { KernelRouter } from '../http/router';
import type { KernelQueues } from '../queues';
import type { HealthChecks } from '../health-checks';

const within = <T>(p: Promise<T>, ms: number): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms).unref())]);

const checks = z.record(z.string(), z.enum(['ok', 'down']));
const queueStats = z.object({
  queue: z.string(), waiting: z.number().int(), active: z.number().int(), delayed: z.number().int(), failed: z.number().int(),
  oldestWaitingSeconds: z.number(),
  oldestActiveSeconds: z.number(),
});

export interface HealthDeps {
  ds: DataSource;
  redis: Redis;
  queues: KernelQueues;
  router: KernelRouter;
  /** Plugins' contributions to /readyz. */
  checks: HealthChecks;
}

export function healthRoutes(r: ApiRouter, deps: HealthDeps): void {
  r.route({
    method: 'get', path: '/healthz', summary: 'The process is alive', auth: 'none', tags: ['health'],
    operationId: 'getLiveness', responses: { 200: z.object({ ok: z.literal(true) }) },
    handler: async () => ({ body: { ok: true as const } }),
  });
  r.route({
    method: 'get', path: '/readyz', summary: 'Postgres, Redis and every plugin health check answer', auth: 'none', tags: ['health'],
    operationId: 'getReadiness', responses: { 200: z.object({ ok: z.literal(true), checks }) },
    handler: async () => {
      const probes: Array<[string, () => Promise<unknown>]> = [['postgres', () => deps.ds.query('SELECT 1')], ['redis', () => deps.redis.ping()], ...deps.checks.entries()];
      const outcomes = await Promise.allSettled(probes.map(([, probe]) => within(Promise.resolve().then(probe), 2000)));
      const checks = Object.fromEntries(probes.map(([name], i) => [name, outcomes[i].status === 'fulfilled' ? 'ok' as const : 'down' as const]));
      const down = Object.entries(checks).filter(([, v]) => v === 'down').map(([k]) => k);
      if (down.length) throw new UnavailableError(`${down.join(' and ')} unreachable`, { checks });
      return { body: { ok: true as const, checks } };
    },
  });
  let document: Record<string, unknown> | undefined;
  r.route({
    method: 'get', path: '/api/openapi.json', summary: 'This contract as OpenAPI 3.1', auth: 'none', tags: ['health'],
    operationId: 'getOpenApiDocument', responses: { 200: z.record(z.string(), z.unknown()).meta({ description: 'An OpenAPI 3.1 document' }) },
    handler: async () => ({ body: (document ??= createDocument(deps.router)) }),
  });
  r.route({
    method: 'get', path: '/api/admin/queues', summary: 'Depth and the ages of the oldest waiting and oldest active job per queue', auth: 'admin', tags: ['admin'],
    operationId: 'adminListQueues', responses: { 200: z.object({ queues: z.array(queueStats) }) },
    handler: async () => ({ body: { queues: await deps.queues.stats() } }),
  });
}
