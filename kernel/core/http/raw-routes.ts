import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { RawRequest, RawRouteHandler } from '../../api';
import type { KernelMetrics } from '../metrics';
import { hostOf, type HostMatcher } from '../upgrades/hosts';
import { requestIdFor } from './app';
import { errorAnswer } from './envelope';

export interface RawRoute {
  label: string;
  host?: HostMatcher;
  prefix?: string;
  handler: RawRouteHandler;
}

interface RawDeps {
  trustProxy: boolean;
  metrics: KernelMetrics;
  logger: Logger;
}

/** What every answer of ours carries, as koa's lifecycle middleware sets it. */
const kernelHeaders = (requestId: string): string[] => ['X-Request-Id', requestId, 'X-Content-Type-Options', 'nosniff'];
/** Metrics label of a request whose client left before the answer ended, as in app.ts. */
const CLIENT_CLOSED = '499';

/**
 * The HTTP server's request listener: a request a raw route matches (by Host first, then by path
 * prefix) is served here, before koa, with the request id, the error envelope and the metrics of
 * every other answer; all others go to koa untouched.
 */
export function rawRoutesFirst(routes: readonly RawRoute[], koa: RequestListener, deps: RawDeps): RequestListener {
  if (!routes.length) return koa;
  const byHost = routes.filter((r) => r.host);
  const byPrefix = routes.filter((r) => r.prefix !== undefined);
  return (req, res) => {
    const found = (byHost.length && matchHost(byHost, hostOf(req.headers, deps.trustProxy))) || (byPrefix.length && matchPrefix(byPrefix, req.url ?? ''));
    if (!found) return koa(req, res);
    void serve(found.route, found.params, req, res, deps);
  };
}

function matchHost(routes: readonly RawRoute[], host: string): { route: RawRoute; params: Record<string, string> } | undefined {
  for (const route of routes) {
    const params = route.host!(host);
    if (params) return { route, params };
  }
  return undefined;
}

/** Origin-form paths only: an absolute-form request line is left to koa (which answers 404). */
function matchPrefix(routes: readonly RawRoute[], url: string): { route: RawRoute; params: Record<string, string> } | undefined {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  for (const route of routes) {
    const prefix = route.prefix!;
    if (path === prefix || path.startsWith(`${prefix}/`)) return { route, params: { rest: path.slice(prefix.length) } };
  }
  return undefined;
}

async function serve(route: RawRoute, params: Record<string, string>, req: IncomingMessage, res: ServerResponse, deps: RawDeps): Promise<void> {
  const started = performance.now();
  const request = new RawRequestContext(req, res, params, requestIdFor(String(req.headers['x-request-id'] ?? '')), deps.logger);
  res.once('close', () => {
    const seconds = (performance.now() - started) / 1000;
    const status = res.writableFinished ? String(res.statusCode) : CLIENT_CLOSED;
    deps.metrics.httpDuration.observe({ method: req.method ?? 'GET', route: route.label, status }, seconds);
    if (deps.logger.isLevelEnabled('info')) {
      // The path only, as koa's log line: a query may carry a credential (an IDE bootstrap's token).
      deps.logger.info({ requestId: request.requestId, method: req.method, path: (req.url ?? '').split('?')[0], status, ms: Math.round(seconds * 1000) }, 'request');
    }
  });
  try {
    await route.handler(request);
  } catch (err) {
    // Once the answer has begun, a failure can only cut it short.
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const answer = errorAnswer(err, request.requestId, deps.logger);
    const body = JSON.stringify(answer.body);
    request.writeHead(answer.status, [
      ...Object.entries(answer.headers).flat(), 'Content-Type', 'application/json; charset=utf-8', 'Content-Length', String(Buffer.byteLength(body)),
    ]);
    res.end(body);
  }
}

class RawRequestContext implements RawRequest {
  private child?: Logger;
  constructor(readonly req: IncomingMessage, readonly res: ServerResponse, readonly params: Record<string, string>, readonly requestId: string, private readonly base: Logger) {}

  get logger(): Logger {
    return (this.child ??= this.base.child({ requestId: this.requestId }));
  }

  writeHead(status: number, headers: readonly string[]): void {
    // One flat list: writeHead after setHeader would keep only the last of repeated names (Set-Cookie).
    this.res.writeHead(status, [...kernelHeaders(this.requestId), ...headers]);
  }
}
