import type { Context } from 'koa';
import { InvalidRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../../api';

/**
 * Reads a JSON body with a hard size limit. The Content-Length is checked before reading and
 * the byte count while reading, so an oversized body is refused without being buffered.
 */
export async function readJsonBody(ctx: Context, limitBytes: number): Promise<unknown> {
  const length = Number(ctx.get('content-length') || 0);
  const chunked = ctx.get('transfer-encoding') !== '';
  if (!length && !chunked) return undefined;
  if (!ctx.is('application/json', 'application/*+json')) {
    throw new UnsupportedMediaTypeError('application/json');
  }
  if (length > limitBytes) {
    drain(ctx);
    throw new PayloadTooLargeError(limitBytes);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) {
      drain(ctx);
      throw new PayloadTooLargeError(limitBytes);
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidRequestError('Body is not valid JSON', { reason: (err as Error).message });
  }
}

/** Discard the rest of a refused body so the connection can answer and be reused. */
function drain(ctx: Context): void {
  ctx.req.resume();
}
