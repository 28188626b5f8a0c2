import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { EntityNotFoundError } from 'typeorm';
import { RateLimitedError, ZpackError } from '../../api';

export interface ErrorEnvelope {
  error: { code: string; message: string; details: Record<string, unknown>; requestId: string };
}

/** Every failure, ours or koa's, leaves as the one envelope of API.md. */
export function errorEnvelope(logger: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        send(ctx, 404, 'not_found', `No route for ${ctx.method} ${ctx.path}`, {});
      } else if (ctx.status === 405 && ctx.body === undefined) {
        send(ctx, 405, 'method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}`, {});
      }
    } catch (err) {
      if (err instanceof ZpackError) {
        if (err instanceof RateLimitedError) ctx.set('Retry-After', String(err.retryAfterSeconds));
        if (err.status >= 500) ctx.state.log?.error({ err }, err.message);
        send(ctx, err.status, err.code, err.message, err.details);
        return;
      }
      if (err instanceof EntityNotFoundError) {
        send(ctx, 404, 'not_found', 'Resource not found', {});
        return;
      }
      const status = typeof (err as any)?.status === 'number' ? (err as any).status : 500;
      if (status < 500 && (err as any)?.expose) {
        send(ctx, status, codeFor(status), (err as Error).message, {});
        return;
      }
      (ctx.state.log ?? logger).error({ err }, 'unhandled error');
      send(ctx, 500, 'internal', 'Internal error', {});
    }
  };
}

function codeFor(status: number): string {
  return ({ 400: 'invalid_request', 401: 'unauthenticated', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed', 413: 'payload_too_large', 415: 'unsupported_media_type' } as Record<number, string>)[status] ?? 'error';
}

function send(ctx: Context, status: number, code: string, message: string, details: Record<string, unknown>): void {
  ctx.status = status;
  const body: ErrorEnvelope = { error: { code, message, details, requestId: ctx.state.requestId } };
  ctx.body = body;
}
