import type { Context } from 'koa';
import { InvalidRequestError, PayloadTooLargeError, RequestTimeoutError, UnsupportedMediaTypeError } from '../../api';

/** How much of a JSON body is read, and for how long. */
export interface JsonBodyLimits {
  limitBytes: number;
  /** Longest gap between two chunks of the body. */
  idleMs: number;
  /** The whole body must have arrived by then, however steadily it trickles. */
  deadlineMs: number;
}

/**
 * Deepest nesting of objects and arrays a body may have. No route needs more than a few levels;
 * deeper input only serves to exhaust recursive code further on (hashing, validation, jsonb).
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Reads a JSON body with a hard size limit. The Content-Length is checked before reading and
 * the byte count while reading, so an oversized body is refused without being buffered; a body
 * that stalls or trickles is cut off with 408.
 */
export async function readJsonBody(ctx: Context, limits: JsonBodyLimits): Promise<unknown> {
  const length = Number(ctx.get('content-length') || 0);
  const chunked = ctx.get('transfer-encoding') !== '';
  if (!length && !chunked) return undefined;
  if (!ctx.is('application/json', 'application/*+json')) {
    throw new UnsupportedMediaTypeError('application/json');
  }
  if (length > limits.limitBytes) {
    drain(ctx);
    throw new PayloadTooLargeError(limits.limitBytes);
  }
  const text = (await readCapped(ctx, limits)).toString('utf8');
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidRequestError('Body is not valid JSON', { reason: (err as Error).message });
  }
  checkStorable(value);
  return value;
}

function readCapped(ctx: Context, limits: JsonBodyLimits): Promise<Buffer> {
  const req = ctx.req;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stalled = () => fail(new RequestTimeoutError(`No part of the body arrived for ${limits.idleMs} ms`), true);
    const late = () => fail(new RequestTimeoutError(`The body did not arrive whole within ${limits.deadlineMs} ms`), true);
    const deadline = setTimeout(late, limits.deadlineMs);
    const idle = setTimeout(stalled, limits.idleMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.limitBytes) return fail(new PayloadTooLargeError(limits.limitBytes), false);
      chunks.push(chunk);
      idle.refresh();
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    // The client went away before the end: there is nobody left to answer.
    const onClose = () => onError(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    const cleanup = () => {
      clearTimeout(deadline);
      clearTimeout(idle);
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    };
    /** A stalled client is not waited for again: the connection closes after the answer. */
    const fail = (err: Error, closeConnection: boolean) => {
      cleanup();
      if (closeConnection) ctx.set('Connection', 'close');
      drain(ctx);
      reject(err);
    };
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

/** Discard the rest of a refused body so the connection can answer and be reused. */
function drain(ctx: Context): void {
  ctx.req.resume();
}

/**
 * Refuses, in one iterative walk, what would fail deeper in: nesting beyond MAX_JSON_DEPTH, and
 * strings (keys included) Postgres cannot store in text or jsonb — NUL and unpaired surrogates.
 */
function checkStorable(root: unknown): void {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value: root, depth: 0, path: 'body' }];
  while (stack.length) {
    const { value, depth, path } = stack.pop()!;
    if (typeof value === 'string') {
      checkText(value, path);
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) throw refuse(path, `nested deeper than ${MAX_JSON_DEPTH} levels`);
    for (const [key, child] of Object.entries(value)) {
      const at = `${path}.${key}`;
      if (!Array.isArray(value)) checkText(key, at);
      stack.push({ value: child, depth: depth + 1, path: at });
    }
  }
}

/** With the u flag a well-formed pair is one code point, so only a lone half matches. */
const UNPAIRED_SURROGATE = /\p{Cs}/u;

function checkText(text: string, path: string): void {
  if (text.includes('\u0000')) throw refuse(path, 'contains a NUL character');
  if (UNPAIRED_SURROGATE.test(text)) throw refuse(path, 'contains an unpaired UTF-16 surrogate');
}

function refuse(path: string, message: string): InvalidRequestError {
  return new InvalidRequestError('Body cannot be accepted', { fields: [{ path: path.slice(0, 200), message }] });
}
