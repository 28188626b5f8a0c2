import { ProviderError } from '../../../kernel/api';
import type { ErrorDetails } from '../../../kernel/api';

/** What went wrong with a bridge call, as far as callers act on it. */
export type BridgeErrorReason =
  | 'unknown_server' // 404 {error:"unknown_server"}: the proxy has no backend of that name
  | 'unauthorized'   // 401: the bridge refused bridgeToken
  | 'http'           // any other error status (a bare 404 means a wrong bridgeUrl, not a missing server)
  | 'network'        // connection refused, reset or dropped
  | 'timeout'        // no answer within timeoutMs
  | 'bad_response';  // an answer whose body does not have the expected shape

/** A failed bridge call: a ProviderError (remote 'velocity') that also says which condition it was. */
export class BridgeError extends ProviderError {
  constructor(operation: string, message: string, readonly reason: BridgeErrorReason, details: ErrorDetails = {}, cause?: unknown) {
    super('velocity', operation, message, { reason, ...details }, cause);
  }

  static fromResponse(operation: string, status: number, body: unknown): BridgeError {
    const { error, message } = (body && typeof body === 'object' ? body : {}) as { error?: unknown; message?: unknown };
    const text = (typeof message === 'string' && message) || (typeof error === 'string' && error) || `HTTP ${status}`;
    return new BridgeError(operation, text, classify(status, error), { status, body });
  }

  /** Worth another attempt: the bridge or the network hiccupped. */
  get transient(): boolean {
    const status = (this.details.status as number | undefined) ?? 0;
    return this.reason === 'network' || this.reason === 'timeout' || (this.reason === 'http' && status >= 500);
  }
}

export const isBridgeError = (err: unknown, reason: BridgeErrorReason): err is BridgeError =>
  err instanceof BridgeError && err.reason === reason;

function classify(status: number, error: unknown): BridgeErrorReason {
  if (status === 401) return 'unauthorized';
  if (status === 404 && error === 'unknown_server') return 'unknown_server';
  return 'http';
}
