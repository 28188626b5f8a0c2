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
  if (res.status >= 400) throw agentFailure(res.status, parse(await readSome(res.body, ERROR_BODY_LIMIT)));
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

/** An agent's error answer as the caller should see it (details.agent keeps status and body). */
export function agentFailure(status: number, body: unknown): ZpackError {
  const code = PASSED_THROUGH[status];
  const agent = { status, body };
  if (code) return new ZpackError(code, status, messageOf(body) ?? `The agent answered ${status}`, { agent });
  return new AgentError(`The agent answered ${status}`, agent);
}

/** An AgentError whose status means something to the caller (404, 409 …) keeps that status. */
export function passThrough(err: unknown): unknown {
  const agent = (err as AgentError)?.details?.agent as { status?: number; body?: unknown } | undefined;
  return err instanceof AgentError && agent?.status && PASSED_THROUGH[agent.status] ? agentFailure(agent.status, agent.body) : err;
}

export interface CappedStream extends Readable {
  /** Set once the body went past the limit: the failure is the client's (413), not the agent's. */
  exceeded: boolean;
}

/** Passes a request body through, stopping it once it grows past `limit` bytes. */
export function capped(source: Readable, limit: number): CappedStream {
  let seen = 0;
  const gate = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > limit) {
        out.exceeded = true;
        return done(new PayloadTooLargeError(limit));
      }
      done(null, chunk);
    },
  });
  const out = Object.assign(gate, { exceeded: false });
  source.on('error', (err) => gate.destroy(err));
  return source.pipe(out);
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
