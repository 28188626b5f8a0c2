import { randomUUID } from 'node:crypto';
import Koa, { type Context } from 'koa';
import type { Logger } from 'pino';
import { withLogContext } from '../logger';
import type { KernelMetrics } from '../metrics';
import { envelopeEmpty, envelopeError } from './envelope';
import type { HostRoutes } from './host-routes';
import { corsMiddleware, type CorsPolicy } from './cors';
import { adminConsole } from './admin-console';
import type { KernelRouter } from './router';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** The caller's X-Request-Id when it is a sane one, else a new id. */
export const requestIdFor = (incoming: string): string => (REQUEST_ID.test(incoming) ? incoming : randomUUID());
/** Metrics label of a request whose client left before the answer (as nginx counts it): not a server error. */
const CLIENT_CLOSED = '499';
/** Probes are hit every few seconds; logging each would drown the log. */
const QUIET = new Set(['/healthz', '/readyz', '/metrics']);

/** The client hung up before its answer was sent (koa's `writable` is also false once an answer has ended). */
const clientGone = (ctx: Context): boolean => !ctx.writable && !ctx.res.writableEnded;

/** Per-request state; the request's child logger is built only when something logs. */
class RequestState {
  private child?: Logger;
  constructor(readonly requestId: string, private readonly base: Logger) {}
  get log(): Logger {
    return (this.child ??= this.base.child({ requestId: this.requestId }));
  }
}

/** The koa app: one lifecycle middleware (request id, error envelope, metrics, access log) → CORS → host routes → the operator console's files → routes. */
export function createApp(router: KernelRouter, logger: Logger, metrics: KernelMetrics, trustProxy: boolean, hosts: HostRoutes, cors: CorsPolicy): Koa {
  const app = new Koa({ proxy: trustProxy });
  app.silent = true;
  // Each request has its own log context: a route that creates an operation names it on the lines that follow.
  app.use((ctx, next) => withLogContext({}, next));
  app.use(async (ctx, next) => {
    const state = new RequestState(requestIdFor(ctx.get('x-request-id')), logger);
    ctx.state = state;
    ctx.set('X-Request-Id', state.requestId);
    // No answer of ours is meant to be sniffed into another type (downloads above all).
    ctx.set('X-Content-Type-Options', 'nosniff');
    const started = performance.now();
    try {
      await next();
      envelopeEmpty(ctx);
    } catch (err) {
      // A client that hung up mid-request (an aborted upload …) is its own doing, not a failure of ours.
      if (clientGone(ctx)) logger.info({ requestId: state.requestId, reason: (err as Error)?.message }, 'client closed the request');
      else envelopeError(ctx, err, logger);
    } finally {
      const seconds = (performance.now() - started) / 1000;
      const route = typeof ctx._matchedRoute === 'string' ? ctx._matchedRoute : 'unmatched';
      const status = clientGone(ctx) ? CLIENT_CLOSED : String(ctx.status);
      metrics.httpDuration.observe({ method: ctx.method, route, status }, seconds);
      if (!QUIET.has(ctx.path) && logger.isLevelEnabled('info')) {
        logger.info({ requestId: state.requestId, method: ctx.method, path: ctx.path, status, ms: Math.round(seconds * 1000) }, 'request');
      }
    }
  });
  app.use(corsMiddleware(cors));
  app.use(hosts.middleware());
  app.use(adminConsole());
  app.use(router.staticRoutes());
  app.use(router.router.routes());
  app.use(router.router.allowedMethods());
  return app;
}
