import { ProviderError } from '../../../kernel/api';
import type { ErrorDetails } from '../../../kernel/api';

/**
 * What went wrong, as far as callers act on it. Proxmox answers most failures with HTTP 500 and
 * a message, so the distinct conditions are recognised from the message text.
 */
export type ProxmoxErrorReason =
  | 'not_found'        // the container's config file does not exist (or 404)
  | 'already_exists'   // "CT 123 already exists"
  | 'already_running'
  | 'not_running'
  | 'locked'           // "CT 123 is locked (create)"
  | 'lock_timeout'     // "can't lock file … got timeout"
  | 'unauthorized'
  | 'http'             // any other error status
  | 'network'          // connection refused, reset or dropped
  | 'timeout'          // no answer within timeoutMs
  | 'bad_response'     // an answer whose data does not have the expected shape
  | 'task_failed'      // the task stopped with an exitstatus other than OK
  | 'task_timeout';    // the task still ran at taskTimeoutMs

const PATTERNS: Array<[RegExp, ProxmoxErrorReason]> = [
  [/configuration file .* does not exist/i, 'not_found'],
  [/already exists/i, 'already_exists'],
  [/already running/i, 'already_running'],
  [/not running/i, 'not_running'],
  [/can't lock file/i, 'lock_timeout'],
  [/is locked/i, 'locked'],
];

/** A failed Proxmox call: a ProviderError (remote 'proxmox') that also says which condition it was. */
export class ProxmoxError extends ProviderError {
  constructor(
    operation: string,
    message: string,
    readonly reason: ProxmoxErrorReason,
    details: ErrorDetails = {},
    cause?: unknown,
  ) {
    super('proxmox', operation, message, { reason, ...details }, cause);
  }

  /** An error answer: the message comes from the body (newer PVE) or the status line (all PVE). */
  static fromResponse(operation: string, status: number, statusMessage: string, body: unknown): ProxmoxError {
    const { message, errors } = (body && typeof body === 'object' ? body : {}) as { message?: unknown; errors?: unknown };
    const text = (typeof message === 'string' && message.trim()) || statusMessage || `HTTP ${status}`;
    // Parameter verification failures (400) name each bad parameter under `errors`.
    const why = errors && typeof errors === 'object'
      ? ` (${Object.entries(errors).map(([key, reason]) => `${key}: ${String(reason).trim()}`).join('; ')})`
      : '';
    return new ProxmoxError(operation, text + why, classify(status, text), { status, body });
  }

  /** Worth another attempt of a safe read: the server or the network hiccupped. */
  get transient(): boolean {
    const status = this.details.status as number | undefined;
    return this.reason === 'network' || this.reason === 'timeout' || (this.reason === 'http' && (status ?? 0) >= 500);
  }
}

export const isProxmoxError = (err: unknown, reason: ProxmoxErrorReason): err is ProxmoxError =>
  err instanceof ProxmoxError && err.reason === reason;

function classify(status: number, message: string): ProxmoxErrorReason {
  if (status === 401) return 'unauthorized';
  if (status === 404) return 'not_found';
  return PATTERNS.find(([pattern]) => pattern.test(message))?.[1] ?? 'http';
}
