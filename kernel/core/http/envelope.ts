import type { Context } from 'koa';
import type { Logger } from 'pino';
import { EntityNotFoundError } from 'typeorm';
import { DatabaseUnavailableError, RateLimitedError, UnavailableError, ZpackError } from '../../api';
import { isDatabaseUnavailable } from '../database';

export interface ErrorEnvelope {
  error: { code: string; message: string; details: Record<string, unknown>; requestId: string };
}

/** A request no route answered (404) or answered for another method (405) gets the envelope too. */
export function envelopeEmpty(ctx: Context): void {
  if (ctx.body !== undefined) return;
  if (ctx.status === 404) send(ctx, 404, 'not_found', `No route for ${ctx.method} ${ctx.path}`, {});
  else if (ctx.status === 405) send(ctx, 405, 'method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}`, {});
}

/** Every failure, ours or koa's, leaves as the one envelope of API.md. */
export function envelopeError(ctx: Context, err: unknown, logger: Logger): void {
  if (isDatabaseUnavailable(err)) err = new DatabaseUnavailableError(err);
  if (err instanceof ZpackError) {
    if (err instanceof RateLimitedError || err instanceof UnavailableError) ctx.set('Retry-After', String(err.retryAfterSeconds));
    if (err.status >= 500) logger.error({ err, requestId: ctx.state.requestId }, err.message);
    return send(ctx, err.status, err.code, err.message, err.details);
  }
  if (err instanceof EntityNotFoundError) return send(ctx, 404, 'not_found', 'Resource not found', {});
  const status = typeof (err as any)?.status === 'number' ? (err as any).status : 500;
  if (status < 500 && (err as any)?.expose) return send(ctx, status, codeFor(status), (err as Error).message, {});
  logger.error({ err, requestId: ctx.state.requestId }, 'unhandled error');
  send(ctx, 500, 'internal', 'Internal error', {});
}

function codeFor(status: number): string {
  return ({ 400: 'invalid_request', 401: 'unauthenticated', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed', 408: 'request_timeout', 413: 'payload_too_large', 415: 'unsupported_media_type' } as Record<number, string>)[status] ?? 'error';
}

function send(ctx: Context, status: number, code: string, message: string, details: Record<string, unknown>): void {
  ctx.status = status;
  // RFC 9110: a 401 names the scheme that would be accepted.
  if (status === 401) ctx.set('WWW-Authenticate', 'Bearer');
  const body: ErrorEnvelope = { error: { code, message, details, requestId: ctx.state.requestId } };
  ctx.body = body;
}
