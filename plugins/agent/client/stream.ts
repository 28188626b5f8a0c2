import type { IncomingHttpHeaders } from 'node:http';
import { Transform, pipeline } from 'node:stream';
import { Agent, request as send } from 'undici';
import { AgentError } from '../../../kernel/api';
import type { AgentRequest, AgentResponse } from '../../../kernel/api';
import { joinAgentUrl } from './wire';

export interface StreamCall {
  baseUrl: string;
  token: string;
  /** How long the agent may stay silent: to connect, between upload chunks, and to send its headers. */
  timeoutMs: number;
  request: AgentRequest;
}

/** Hop-by-hop or connection-bound: they describe the caller's connection, not this one. */
const DROPPED_HEADERS = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'expect', 'authorization']);

/**
 * Keep-alive connections to the agents. undici hands a response body on as views of what the
 * socket read, where node:http copies every chunk: on a multi-GiB download that copy, and the
 * garbage it leaves, cost the relay more CPU than moving the bytes. Its own timeouts are off:
 * the silence deadline below is the only one.
 */
const dispatcher = new Agent({ headersTimeout: 0, bodyTimeout: 0 });

/**
 * Forwards one request to the agent with both bodies streamed. The deadline is one of silence,
 * not of total time: an upload may take minutes as long as it moves, and once the headers are in,
 * the response body flows with no deadline at all (a multi-GiB download to a slow client).
 */
export function streamExchange(call: StreamCall): Promise<AgentResponse> {
  const { request, timeoutMs } = call;
  const url = new URL(joinAgentUrl(call.baseUrl, request.path));
  for (const [key, value] of Object.entries(request.query ?? {})) url.searchParams.set(key, value);
  const headers = { ...forwardable(request.headers ?? {}), authorization: `Bearer ${call.token}` };
  const operation = `${request.method} ${request.path}`;
  const abort = new AbortController();

  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (reason: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(silence);
      abort.abort();
      request.body?.destroy();
      reject(new AgentError(`agent ${operation} failed: ${reason}`, { status: 0, body: { reason } }));
    };
    const silence = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    let body: Transform | undefined;
    if (request.body) {
      body = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          silence.refresh();
          done(null, chunk);
        },
        // The agent answers once the whole body is in: from then on it has timeoutMs to do so.
        flush(done) {
          silence.refresh();
          done();
        },
      });
      // pipeline carries backpressure both ways and tears the agent request down if the upload breaks.
      pipeline(request.body, body, (err) => {
        if (err) fail(`upload interrupted: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
      });
    }
    send(url, { dispatcher, method: request.method, headers, body, signal: abort.signal }).then(
      (res) => {
        if (settled) return void res.body.destroy();
        settled = true;
        clearTimeout(silence);
        resolve({ status: res.statusCode, headers: flatten(res.headers), body: res.body });
      },
      (err: NodeJS.ErrnoException) => fail(err.code ?? err.message),
    );
  });
}

function forwardable(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers)
      .map(([key, value]): [string, string] => [key.toLowerCase(), value])
      .filter(([key]) => !DROPPED_HEADERS.has(key)),
  );
}

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) flat[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}
