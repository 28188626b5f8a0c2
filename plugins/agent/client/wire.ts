import http from 'node:http';
import https from 'node:https';
import { AgentError } from '../../../kernel/api';

/** What an agent answered: the HTTP status and the body (JSON when it parses, else trimmed text). */
export interface AgentAnswer {
  status: number;
  body: unknown;
}

export interface AgentExchange {
  /** Names the call in errors: provision, ready, status, power, backups … */
  operation: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  token: string;
  body?: unknown;
  timeoutMs: number;
}

/** Longest text body kept in an error: enough to diagnose, small enough for an API response. */
export const TEXT_BODY_LIMIT = 2048;

/**
 * Joins an agent path onto its base URL. The base may carry a path (the simulator serves each
 * container under /ct/{vmid}), which `new URL(path, base)` would drop.
 */
export function joinAgentUrl(baseUrl: string, path: string): string {
  const base = new URL(baseUrl);
  base.pathname = `${base.pathname.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
  return base.toString();
}

/**
 * Kept-alive connections to the agents (fetch kept them alive too), closed after 4 s idle or
 * sooner when an agent announces a shorter keep-alive: node:http costs a fraction of fetch's
 * CPU per call, and every create makes several.
 */
const KEEP_ALIVE = { keepAlive: true, timeout: 4000 };
const agents = { http: new http.Agent(KEEP_ALIVE), https: new https.Agent(KEEP_ALIVE) };

/**
 * One request to an agent, bounded by `timeoutMs` from connect to the last byte of the body.
 * Only network failures and timeouts throw here (status 0); HTTP statuses are the caller's to judge.
 * A redirect is answered as it is, never followed: it would carry the bearer token elsewhere.
 */
export function exchange(call: AgentExchange): Promise<AgentAnswer> {
  const headers: http.OutgoingHttpHeaders = { authorization: `Bearer ${call.token}`, accept: 'application/json' };
  const body = call.body === undefined ? undefined : JSON.stringify(call.body);
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(body);
  }
  return new Promise((resolve, reject) => {
    let url: URL;
    try {
      url = new URL(call.url);
    } catch {
      reject(new AgentError(`agent ${call.operation} failed: invalid_address`, { status: 0, body: { reason: 'invalid_address' } }));
      return;
    }
    const tls = url.protocol === 'https:';
    let timedOut = false;
    let answer: http.IncomingMessage | undefined;
    const fail = (reason: string) => reject(new AgentError(`agent ${call.operation} failed: ${reason}`, { status: 0, body: { reason } }));
    const req = (tls ? https : http).request(url, { method: call.method, headers, agent: tls ? agents.https : agents.http }, (res) => {
      answer = res;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', () => undefined);
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: parseBody(Buffer.concat(chunks).toString('utf8')) });
      });
    });
    const timer = setTimeout(() => {
      timedOut = true;
      req.destroy();
    }, call.timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      fail(timedOut ? `no answer within ${call.timeoutMs} ms` : networkReason(err));
    });
    // A body cut short (the agent died mid-answer) is a network failure too.
    req.on('close', () => {
      clearTimeout(timer);
      if (timedOut) fail(`no answer within ${call.timeoutMs} ms`);
      else if (!answer?.complete) fail('connection closed before the answer was complete');
    });
    req.end(body);
  });
}

/** JSON when it parses, else the text trimmed to TEXT_BODY_LIMIT. */
export function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text.trim().slice(0, TEXT_BODY_LIMIT);
  }
}

/** The error code (ECONNREFUSED …) rather than the message, which names the internal address. */
function networkReason(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message ?? String(err);
}
