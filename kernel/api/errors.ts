/**
 * Every failure the API can answer with, one class per stable code.
 * The HTTP layer maps these to the envelope of API.md once; nothing else builds error bodies.
 */
export type ErrorDetails = Record<string, unknown>;

export class ZpackError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly details: ErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InvalidRequestError extends ZpackError {
  constructor(message = 'The request is invalid', details: ErrorDetails = {}) {
    super('invalid_request', 400, message, details);
  }
}
export class UnauthenticatedError extends ZpackError {
  constructor(message = 'Authentication required') {
    super('unauthenticated', 401, message);
  }
}
export class BillingSuspendedError extends ZpackError {
  constructor(message = 'The account is suspended for non-payment', details: ErrorDetails = {}) {
    super('billing_suspended', 402, message, details);
  }
}
export class ForbiddenError extends ZpackError {
  constructor(message = 'Not allowed', details: ErrorDetails = {}) {
    super('forbidden', 403, message, details);
  }
}
/** The account's plan does not include what was asked (a flavor, more memory, mods); names the plan. */
export class PlanLimitError extends ZpackError {
  constructor(readonly plan: string, message: string, details: ErrorDetails = {}) {
    super('forbidden', 403, message, { plan, ...details });
  }
}
export class QuotaExceededError extends ZpackError {
  constructor(message = 'Instance quota reached', details: ErrorDetails = {}) {
    super('quota_exceeded', 403, message, details);
  }
}
export class NotFoundError extends ZpackError {
  constructor(what = 'Resource') {
    super('not_found', 404, `${what} not found`);
  }
}
export class ConflictError extends ZpackError {
  constructor(message = 'Conflict', details: ErrorDetails = {}) {
    super('conflict', 409, message, details);
  }
}
export class OperationInProgressError extends ZpackError {
  constructor(operationId: string) {
    super('operation_in_progress', 409, 'Another operation is running on this instance', { operationId });
  }
}
/** The client sent its request too slowly (a stalled or trickling body). */
export class RequestTimeoutError extends ZpackError {
  constructor(message = 'The request did not arrive in time') {
    super('request_timeout', 408, message);
  }
}
/** `If-Match` named a version that is no longer the current one: the write was not made. */
export class PreconditionFailedError extends ZpackError {
  constructor(what: string, current: string | null) {
    super('precondition_failed', 412, `${what} changed since it was read (If-Match does not match)`, { current });
  }
}
export class PayloadTooLargeError extends ZpackError {
  constructor(limitBytes: number) {
    super('payload_too_large', 413, `Body exceeds ${limitBytes} bytes`, { limitBytes });
  }
}
export class UnsupportedMediaTypeError extends ZpackError {
  constructor(expected: string) {
    super('unsupported_media_type', 415, `Content-Type must be ${expected}`, { expected });
  }
}
export class IdempotencyKeyReusedError extends ZpackError {
  constructor() {
    super('idempotency_key_reused', 422, 'This Idempotency-Key was used with a different request body');
  }
}
export class LockedError extends ZpackError {
  constructor(message = 'The resource is locked', details: ErrorDetails = {}) {
    super('locked', 423, message, details);
  }
}
export class RateLimitedError extends ZpackError {
  constructor(readonly retryAfterSeconds: number) {
    super('rate_limited', 429, 'Too many requests', { retryAfterSeconds });
  }
}
/** A remote system (hosting, DNS, proxy …) failed; details keep its status and body. */
export class ProviderError extends ZpackError {
  constructor(remote: string, operation: string, message: string, details: ErrorDetails = {}, cause?: unknown) {
    super('provider_error', 502, `${remote} ${operation}: ${message}`, { remote, operation, ...details }, { cause });
  }
}
/**
 * The hosting provider found the VMID held by a container this operation did not create. The
 * kernel marks the VMID foreign and retries the create on a fresh one.
 */
export class VmidTakenError extends ProviderError {
  constructor(remote: string, readonly vmid: number, details: ErrorDetails = {}) {
    super(remote, 'create', `VMID ${vmid} is held by a container this operation did not create`, { reason: 'vmid_taken', vmid, ...details });
  }
}
/** A plugin wrote an instance payload section that is not its own (each plugin writes only the section named after it). */
export class SectionNotOwnedError extends ZpackError {
  constructor(plugin: string, section: string) {
    super('section_not_owned', 500, `plugin "${plugin}" may write only its own payload section "${plugin}", not "${section}"`, { plugin, section });
  }
}
/** The in-container agent failed; its status and body stay under details.agent (for the kernel and its log, never relayed). */
export class AgentError extends ZpackError {
  constructor(message: string, agent: { status?: number; body?: unknown }) {
    super('agent_error', 502, message, { agent });
  }
}
/** A dependency is down; a retry after `retryAfterSeconds` (sent as Retry-After) may succeed. */
export class UnavailableError extends ZpackError {
  readonly retryAfterSeconds: number = 5;
  constructor(message = 'Service unavailable', details: ErrorDetails = {}, code = 'unavailable', cause?: unknown) {
    super(code, 503, message, details, { cause });
  }
}
/** A remote system said it is overloaded or down (429, 5xx): nothing was changed; retry after its Retry-After. */
export class RemoteUnavailableError extends UnavailableError {
  override readonly retryAfterSeconds: number;
  constructor(remote: string, operation: string, retryAfterSeconds: number, details: ErrorDetails = {}) {
    super(`${remote} ${operation}: unavailable, retry in ${retryAfterSeconds} s`, { remote, operation, retryAfterSeconds, ...details });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
/** Postgres could not be reached (restart, failover, network); a retry with the same Idempotency-Key is safe. */
export class DatabaseUnavailableError extends UnavailableError {
  constructor(cause?: unknown) {
    super('The database is unreachable; retry shortly', {}, 'database_unavailable', cause);
  }
}
/** Thrown by a beforeProvision tap to refuse a plan (quota, billing, plan limits). */
export class VetoError extends ZpackError {
  constructor(code: string, message: string, status = 403, details: ErrorDetails = {}) {
    super(code, status, message, details);
  }
}
/** A hook tap failed with a non-domain error; names the hook and the plugin that tapped it. */
export class HookError extends ZpackError {
  constructor(hook: string, plugin: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super('hook_failed', 500, `${hook} tap "${plugin}" failed: ${reason}`, { hook, plugin }, { cause });
  }
}
/** A loop's write carried the fencing token of a term that is over: a newer leader was elected. */
export class FencedError extends ZpackError {
  constructor(loop: string, token: number) {
    super('fenced', 409, `loop ${loop}: token ${token} is fenced off by a newer leader`, { loop, token });
  }
}
/**
 * Boot-time problems; `code` says which kind (invalid_config, unknown_role, port_unbound,
 * kernel_api_mismatch, plugin_dependency_missing …) so an operator's tooling can tell them apart.
 */
export class BootError extends Error {
  constructor(message: string, readonly code = 'boot_failed') {
    super(message);
    this.name = 'BootError';
  }
}
