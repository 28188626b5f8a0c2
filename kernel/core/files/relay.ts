import { Transform, type Readable } from 'node:stream';
import type { Context } from 'koa';
import { AgentError, ZpackError, PayloadTooLargeError } from '../../api';
import type { AgentResponse } from '../../api';

const ERROR_BODY_LIMIT = 64 * 1024;
const JSON_LIMIT = 8 * 1024 * 1024;
/** Agent answers that mean something to the caller keep their status; any other failure is 502. */
const PASSED_THROUGH: Record<number, string> = { 400: 'invalid_request', 404: 'not_found', 409: 'conflict', 413: 'payload_too_large', 415: 'unsupported_media_type' };
const STREAM_HEADERS = ['content-type', 'content-length', 'content-disposition', 'last-modified', 'etag'];

/**
 * The one place that decides between JSON and a stream for anything the agent answers:
 * errors become the envelope (agent status and body under details.agent), JSON is parsed
 * and returned, everything else is piped through untouched and never buffered.
 */
export async function relay(ctx: Context, res: AgentResponse): Promise<void> {
  if (res.status >= 400) {
    const body = parse(await readSome(res.body, ERROR_BODY_LIMIT));
    const code = PASSED_THROUGH[res.status];
    const agent = { status: res.status, body };
    if (code) throw new ZpackError(code, res.status, messageOf(body) ?? `The agent answered ${res.status}`, { agent });
    throw new AgentError(`The agent answered ${res.status}`, agent);
  }
  ctx.status = res.status;
  if (res.status === 204) {
    res.body.resume();
    ctx.body = null;
    return;
  }
  if ((res.headers['content-type'] ?? '').includes('application/json')) {
    ctx.body = parse(await readSome(res.body, JSON_LIMIT));
    return;
  }
  for (const h of STREAM_HEADERS) if (res.headers[h]) ctx.set(h, res.headers[h]);
  ctx.body = res.body;
}

/** Passes a request body through, refusing it with 413 once it grows past `limit` bytes. */
export function capped(source: Readable, limit: number): Readable {
  let seen = 0;
  const gate = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > limit) return done(new PayloadTooLargeError(limit));
      done(null, chunk);
    },
  });
  source.on('error', (err) => gate.destroy(err));
  return source.pipe(gate);
}

async function readSome(stream: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      stream.destroy();
      break;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text.slice(0, 2048);
  }
}

function messageOf(body: unknown): string | undefined {
  const b = body as { message?: unknown; error?: unknown };
  if (typeof b?.message === 'string') return b.message;
  if (typeof b?.error === 'string') return `The agent answered: ${b.error}`;
  return undefined;
}
