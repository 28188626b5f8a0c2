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
 * One request to an agent, bounded by `timeoutMs` from connect to the last byte of the body.
 * Only network failures and timeouts throw here (status 0); HTTP statuses are the caller's to judge.
 */
export async function exchange(call: AgentExchange): Promise<AgentAnswer> {
  const headers: Record<string, string> = { authorization: `Bearer ${call.token}`, accept: 'application/json' };
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  const signal = AbortSignal.timeout(call.timeoutMs);
  try {
    const res = await fetch(call.url, {
      method: call.method,
      headers,
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      signal,
      // A redirect would carry the bearer token elsewhere: report it instead of following it.
      redirect: 'manual',
    });
    return { status: res.status, body: parseBody(await res.text()) };
  } catch (err) {
    const reason = signal.aborted ? `no answer within ${call.timeoutMs} ms` : networkReason(err);
    throw new AgentError(`agent ${call.operation} failed: ${reason}`, { status: 0, body: { reason } });
  }
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
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
}
