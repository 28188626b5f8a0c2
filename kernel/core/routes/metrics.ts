import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Context } from 'koa';
import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { ForbiddenError, UnauthenticatedError, streamed } from '../../api';
import type { AccountView, ApiRouter, TokenAuth } from '../../api';
import type { KernelConfig } from '../config';
import type { KernelMetrics } from '../metrics';

/** Prometheus scrapes with the metrics token; an operator may look with an admin access token. */
const METRICS_AUTH: TokenAuth = {
  scheme: 'metricsToken',
  description: 'The metrics token from config (`metrics.token`, what Prometheus sends), or an admin access token',
};

const sdGroup = z.object({
  targets: z.array(z.string()).meta({ description: 'host:port of the server\'s agent' }),
  labels: z.record(z.string(), z.string()),
});

export interface MetricsDeps {
  ds: DataSource;
  metrics: KernelMetrics;
  config: KernelConfig['metrics'];
  authenticate(ctx: Context): Promise<{ account: AccountView }>;
}

/** Refuses a scrape without the metrics token or an admin's access token, unless configured open (tests, local runs). */
function guardFor(deps: MetricsDeps): (ctx: Context) => Promise<void> {
  return async (ctx) => {
    if (deps.config.anonymous) return;
    const presented = /^Bearer (.+)$/i.exec(ctx.get('authorization'))?.[1];
    if (!presented) throw new UnauthenticatedError('Metrics need the metrics token or an admin access token');
    if (deps.config.token && sameSecret(presented, deps.config.token)) return;
    const { account } = await deps.authenticate(ctx);
    if (account.role !== 'admin') throw new ForbiddenError('Metrics are for operators');
    // An admin's key reaches operator data only with the admin scope, as on the admin routes.
    if (account.credential && !account.credential.scopes.includes('admin')) throw new ForbiddenError('This API key lacks the admin scope', { scope: 'admin' });
  };
}

const sameSecret = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export function metricsRoutes(r: ApiRouter, deps: MetricsDeps): void {
  const guard = guardFor(deps);
  r.route({
    method: 'get', path: '/metrics', summary: 'Prometheus metrics', auth: METRICS_AUTH, tags: ['health'], guard, errors: [403],
    operationId: 'getMetrics', responses: { 200: streamed('text/plain', 'Prometheus text exposition format') },
    handler: async () => ({
      body: await deps.metrics.registry.metrics(),
      headers: { 'Content-Type': deps.metrics.registry.contentType },
    }),
  });
  r.route({
    method: 'get', path: '/metrics/targets', summary: 'Prometheus HTTP service discovery: every live server\'s metrics target', auth: METRICS_AUTH, tags: ['health'], guard, errors: [403],
    description: 'The format of Prometheus `http_sd_configs`, read from the database on each call: a deleted server\'s target is gone at the next refresh. Each target is the server\'s agent; `__metrics_path__` is the agent\'s `/metrics`.',
    operationId: 'getMetricsTargets', responses: { 200: z.array(sdGroup) },
    handler: async () => ({ body: await serviceDiscovery(deps.ds) }),
  });
}

/** One group per live server with an agent address. */
export async function serviceDiscovery(ds: DataSource): Promise<Array<z.infer<typeof sdGroup>>> {
  const rows: Array<{ id: string; kind: string; type: string; state: string; vmid: number | null; node: string | null; address: string }> = await ds.query(
    `SELECT id, kind, type, state, vmid, node, address FROM instance WHERE deleted_at IS NULL AND address IS NOT NULL ORDER BY created_at, id`);
  return rows.flatMap((row) => {
    let url: URL;
    try {
      url = new URL(row.address);
    } catch {
      return [];
    }
    return [{
      targets: [url.host],
      labels: {
        __metrics_path__: `${url.pathname.replace(/\/+$/, '')}/metrics`, __scheme__: url.protocol.replace(':', ''),
        instance_id: row.id, kind: row.kind, type: row.type, state: row.state, vmid: String(row.vmid ?? ''), node: row.node ?? '',
      },
    }];
  });
}

/** `metrics.listener`: /metrics without auth on an address only Prometheus reaches (any role, HTTP or not). */
export async function listenForMetrics(config: KernelConfig['metrics']['listener'], metrics: KernelMetrics): Promise<Server | undefined> {
  if (!config.port) return undefined;
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  return server;
}
