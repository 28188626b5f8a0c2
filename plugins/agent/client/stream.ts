import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Transform, pipeline } from 'node:stream';
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
const DROPPED_HEADERS = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'authorization']);

/**
 * Forwards one request to the agent with both bodies streamed. The deadline is one of silence,
 * not of total time: an upload may take minutes as long as it moves, and once the headers are in,
 * the response body flows with no deadline at all (a multi-GiB download to a slow client).
 */
export function streamExchange(call: StreamCall): Promise<AgentResponse> {
  const { request, timeoutMs } = call;
  const url = new URL(joinAgentUrl(call.baseUrl, request.path));
  for (const [key, value] of Object.entries(request.query ?? {})) url.searchParams.set(key, value);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers = { ...forwardable(request.headers ?? {}), authorization: `Bearer ${call.token}` };
  const operation = `${request.method} ${request.path}`;

  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (reason: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(silence);
      req.destroy();
      request.body?.destroy();
      reject(new AgentError(`agent ${operation} failed: ${reason}`, { status: 0, body: { reason } }));
    };
    const silence = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    const req = send(url, { method: request.method, headers }, (res: IncomingMessage) => {
      if (settled) return void res.destroy();
      settled = true;
      clearTimeout(silence);
      resolve({ status: res.statusCode ?? 0, headers: flatten(res.headers), body: res });
    });
    req.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
    if (!request.body) return void req.end();
    // The agent answers once the whole body is in: from then on it has timeoutMs to do so.
    req.on('finish', () => silence.refresh());
    const progress = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        silence.refresh();
        done(null, chunk);
      },
    });
    // pipeline carries backpressure both ways and tears the agent request down if the upload breaks.
    pipeline(request.body, progress, req, (err) => {
      if (err) fail(`upload interrupted: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
    });
  });
}

function forwardable(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers)
      .map(([key, value]): [string, string] => [key.toLowerCase(), value])
      .filter(([key]) => !DROPPED_HEADERS.has(key)),
  );
}

function flatten(headers: IncomingMessage['headers']): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) flat[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}
