import { ProviderError } from '../../../kernel/api';
import type { ErrorDetails } from '../../../kernel/api';
import { envelope } from './wire';

/** What went wrong, as far as callers act on it. */
export type CloudflareErrorReason =
  | 'unauthorized'    // 401/403: token missing, wrong, or without DNS edit on the zone
  | 'not_found'       // 404, or 81044 "Record does not exist."
  | 'already_exists'  // 81057/81058: an identical record exists (a concurrent publish made it)
  | 'rate_limited'    // 429, with Retry-After
  | 'http'            // any other error answer
  | 'network'         // connection refused, reset or dropped
  | 'timeout'         // no answer within the request or call deadline
  | 'bad_response';   // an answer that is not the expected envelope or result

const RECORD_MISSING = 81044;
const RECORD_EXISTS = new Set([81057, 81058]);

/** A failed Cloudflare call: a ProviderError (remote 'cloudflare') that also says which condition it was. */
export class CloudflareError extends ProviderError {
  constructor(
    operation: string,
    message: string,
    readonly reason: CloudflareErrorReason,
    details: ErrorDetails = {},
    cause?: unknown,
  ) {
    super('cloudflare', operation, message, { reason, ...details }, cause);
  }

  /** An error answer; the message lists the envelope's errors as "text (code)". */
  static fromResponse(operation: string, status: number, body: unknown, retryAfterSeconds?: number): CloudflareError {
    const parsed = envelope.safeParse(body);
    const errors = parsed.success ? parsed.data.errors : [];
    const text = errors.map((e) => `${e.message} (${e.code})`).join('; ') || `HTTP ${status}`;
    const codes = new Set(errors.map((e) => e.code));
    const extra = retryAfterSeconds === undefined ? {} : { retryAfterSeconds };
    return new CloudflareError(operation, text, classify(status, codes), { status, body, ...extra });
  }

  /** Worth another attempt of an idempotent call: the server or the network hiccupped. */
  get transient(): boolean {
    const status = this.details.status as number | undefined;
    return this.reason === 'network' || this.reason === 'timeout' || (this.reason === 'http' && (status ?? 0) >= 500);
  }
}

export const isCloudflareError = (err: unknown, reason?: CloudflareErrorReason): err is CloudflareError =>
  err instanceof CloudflareError && (reason === undefined || err.reason === reason);

function classify(status: number, codes: Set<number>): CloudflareErrorReason {
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 429) return 'rate_limited';
  if (status === 404 || codes.has(RECORD_MISSING)) return 'not_found';
  if ([...codes].some((c) => RECORD_EXISTS.has(c))) return 'already_exists';
  return 'http';
}
