import { Transform, type Readable } from 'node:stream';
import type { Context } from 'koa';
import { PayloadTooLargeError } from '../../api';
import type { AgentResponse } from '../../api';
import { agentFailure } from './agent-failures';

const ERROR_BODY_LIMIT = 64 * 1024;
const JSON_LIMIT = 8 * 1024 * 1024;
const STREAM_HEADERS = ['content-type', 'content-length', 'content-disposition', 'last-modified', 'etag'];

/**
 * The one place that decides between JSON and a stream for anything the agent answers:
 * errors become our own codes (agent-failures.ts; the agent's body is never relayed), JSON is parsed
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
  if (!res.pipe) {
    ctx.body = res.body;
    return;
  }
  // The agent writes the bytes to the client itself, reusing its buffers; koa leaves the answer alone.
  ctx.respond = false;
  ctx.res.writeHead(res.status);
  await res.pipe(ctx.res);
}

/** A JSON answer of the agent read whole (a file's description); its failures become our own codes. */
export async function relayedJson(res: AgentResponse): Promise<unknown> {
  if (res.status >= 400) throw agentFailure(res.status, parse(await readSome(res.body, ERROR_BODY_LIMIT)));
  return parse(await readSome(res.body, JSON_LIMIT));
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
