import { randomUUID } from 'node:crypto';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { KernelMetrics } from '../metrics';
import { errorEnvelope } from './envelope';
import type { KernelRouter } from './router';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** Probes are hit every few seconds; logging each would drown the log. */
const QUIET = new Set(['/healthz', '/readyz', '/metrics']);

/** The koa app: request id → access log and metrics → error envelope → routes. */
export function createApp(router: KernelRouter, logger: Logger, metrics: KernelMetrics, trustProxy: boolean): Koa {
  const app = new Koa({ proxy: trustProxy });
  app.silent = true;
  app.use(async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    // Built on first use: most requests never log beyond the access line.
    let child: Logger | undefined;
    Object.defineProperty(ctx.state, 'log', { get: () => (child ??= logger.child({ requestId })), configurable: true });
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = typeof ctx._matchedRoute === 'string' ? ctx._matchedRoute : 'unmatched';
      metrics.httpDuration.observe({ method: ctx.method, route, status: String(ctx.status) }, seconds);
      if (!QUIET.has(ctx.path)) {
        logger.info({ requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(seconds * 1000) }, 'request');
      }
    }
  });
  app.use(errorEnvelope(logger));
  app.use(router.staticRoutes());
  app.use(router.router.routes());
  app.use(router.router.allowedMethods());
  return app;
}
