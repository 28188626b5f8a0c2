import type { Context, Next } from 'koa';

export interface CorsPolicy {
  /** Exact origins (scheme://host[:port]) of the portals allowed to call the API from a browser. */
  allowedOrigins: readonly string[];
  maxAgeSeconds: number;
}

const METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
const REQUEST_HEADERS = 'Authorization, Content-Type, Idempotency-Key, If-Match, If-None-Match, X-Request-Id';
/** What a portal's script may read besides the CORS-safelisted headers. */
const EXPOSED = 'ETag, Location, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, X-Request-Id, Content-Disposition';

/**
 * CORS for the configured portal origins only. An allowed origin is echoed (never `*`, since
 * credentials are allowed) and its preflight answered here; any other origin gets no CORS
 * header at all, so the browser keeps the answer from its script.
 */
export function corsMiddleware(policy: CorsPolicy) {
  const allowed = new Set(policy.allowedOrigins);
  return async (ctx: Context, next: Next): Promise<void> => {
    if (!allowed.size) return next();
    ctx.vary('Origin');
    const origin = ctx.get('origin');
    if (!origin || !allowed.has(origin)) return next();
    ctx.set('Access-Control-Allow-Origin', origin);
    ctx.set('Access-Control-Allow-Credentials', 'true');
    if (ctx.method === 'OPTIONS' && ctx.get('access-control-request-method')) {
      ctx.set('Access-Control-Allow-Methods', METHODS);
      ctx.set('Access-Control-Allow-Headers', REQUEST_HEADERS);
      ctx.set('Access-Control-Max-Age', String(policy.maxAgeSeconds));
      ctx.status = 204;
      return;
    }
    ctx.set('Access-Control-Expose-Headers', EXPOSED);
    return next();
  };
}
