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
  const answer = errorAnswer(err, ctx.state.requestId, logger);
  ctx.status = answer.status;
  for (const [name, value] of Object.entries(answer.headers)) ctx.set(name, value);
  ctx.body = answer.body;
}

export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: ErrorEnvelope;
}

/** The answer to a failure, for koa and for the raw routes alike; 5xx are logged here. */
export function errorAnswer(err: unknown, requestId: string, logger: Logger): ErrorAnswer {
  if (isDatabaseUnavailable(err)) err = new DatabaseUnavailableError(err);
  if (err instanceof ZpackError) {
    const headers: Record<string, string> = {};
    if (err instanceof RateLimitedError || err instanceof UnavailableError) headers['Retry-After'] = String(err.retryAfterSeconds);
    if (err.status >= 500) logger.error({ err, requestId }, err.message);
    return answer(err.status, err.code, err.message, err.details, requestId, headers);
  }
  if (err instanceof EntityNotFoundError) return answer(404, 'not_found', 'Resource not found', {}, requestId);
  const status = typeof (err as any)?.status === 'number' ? (err as any).status : 500;
  if (status < 500 && (err as any)?.expose) return answer(status, codeFor(status), (err as Error).message, {}, requestId);
  logger.error({ err, requestId }, 'unhandled error');
  return answer(500, 'internal', 'Internal error', {}, requestId);
}

function codeFor(status: number): string {
  return ({ 400: 'invalid_request', 401: 'unauthenticated', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed', 408: 'request_timeout', 413: 'payload_too_large', 415: 'unsupported_media_type' } as Record<number, string>)[status] ?? 'error';
}

function answer(status: number, code: string, message: string, details: Record<string, unknown>, requestId: string, headers: Record<string, string> = {}): ErrorAnswer {
  // RFC 9110: a 401 names the scheme that would be accepted.
  if (status === 401) headers['WWW-Authenticate'] = 'Bearer';
  return { status, headers, body: { error: { code, message, details, requestId } } };
}

function send(ctx: Context, status: number, code: string, message: string, details: Record<string, unknown>): void {
  const { headers, body } = answer(status, code, message, details, ctx.state.requestId);
  ctx.status = status;
  for (const [name, value] of Object.entries(headers)) ctx.set(name, value);
  ctx.body = body;
}
