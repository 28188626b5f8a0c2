import { setTimeout as sleep } from 'node:timers/promises';

/** The numeric "next N" counters of a faults object, by name. */
export type CountedFault<T> = { [K in keyof T]: T[K] extends number ? K : never }[keyof T] & string;

export interface SimulatorFaultOptions {
  /** Delay before every answer; `latencyMs` starts here and returns here on clear(). */
  latencyMs?: number;
  /** What `errorRatio` answers (the remote system's usual overload status). */
  errorStatus?: number;
  /** Seed of the random source behind `errorRatio`, so a flaky run replays the same way. */
  seed?: number;
}

interface Pending {
  count: number;
  /** Only requests of this method count, when given. */
  method?: string;
}

/**
 * The faults every wire simulator injects, changed at runtime by tests: latency, a share of
 * 5xx answers, the next N requests failed or rate-limited (429 with Retry-After), dropped
 * sockets and "already exists". Counters are "the next N": each firing uses one up. A
 * simulator extends it with faults only its system has (a lock timeout, a failed task …).
 */
export class SimulatorFaults {
  latencyMs: number;
  /** Share (0..1) of requests answered `errorStatus`. */
  errorRatio = 0;
  /** Next N requests have their connection destroyed without an answer. */
  dropConnections = 0;
  /** Next N creates answer "already exists" although nothing held the name or id. */
  alreadyExists = 0;
  private failures: Pending & { status: number } = { count: 0, status: 500 };
  private rateLimits: Pending & { retryAfterSeconds: number } = { count: 0, retryAfterSeconds: 1 };
  private random: () => number;

  constructor(private readonly defaults: SimulatorFaultOptions = {}) {
    this.latencyMs = defaults.latencyMs ?? 0;
    this.random = seeded(defaults.seed ?? DEFAULT_SEED);
  }

  /** The next `count` requests (only those of `method`, when given) answer `status` and change nothing. */
  failNext(count: number, status = 500, method?: string): void {
    this.failures = { count, status, method };
  }

  /** The next `count` requests (only those of `method`, when given) answer 429 with `Retry-After: retryAfterSeconds`. */
  rateLimitNext(count: number, retryAfterSeconds = 1, method?: string): void {
    this.rateLimits = { count, retryAfterSeconds, method };
  }

  /** Restarts the random source behind `errorRatio`. */
  reseed(seed: number): void {
    this.random = seeded(seed);
  }

  /** Waits the configured latency, if any. */
  async delay(): Promise<void> {
    if (this.latencyMs > 0) await sleep(this.latencyMs);
  }

  /** Uses up one of the "next N" counters; true when it fires. */
  take(fault: CountedFault<this>): boolean {
    const left = this[fault] as number;
    if (left <= 0) return false;
    (this as Record<string, unknown>)[fault] = left - 1;
    return true;
  }

  takeDrop(): boolean {
    return this.take('dropConnections' as CountedFault<this>);
  }

  /** The Retry-After (seconds) of this request's 429, if rateLimitNext is still counting. */
  takeRateLimit(method?: string): number | undefined {
    return takePending(this.rateLimits, method) ? this.rateLimits.retryAfterSeconds : undefined;
  }

  /** The status to fail this request with: failNext first, then errorRatio. */
  takeFailure(method?: string): number | undefined {
    if (takePending(this.failures, method)) return this.failures.status;
    return this.errorRatio > 0 && this.random() < this.errorRatio ? this.defaults.errorStatus ?? 500 : undefined;
  }

  /** Back to no faults at all, and the random source to its seed. */
  clear(): void {
    this.latencyMs = this.defaults.latencyMs ?? 0;
    this.errorRatio = 0;
    this.dropConnections = this.alreadyExists = 0;
    this.failures = { count: 0, status: 500 };
    this.rateLimits = { count: 0, retryAfterSeconds: 1 };
    this.random = seeded(this.defaults.seed ?? DEFAULT_SEED);
  }
}

const DEFAULT_SEED = 0x5eed;

function takePending(pending: Pending, method: string | undefined): boolean {
  if (pending.count <= 0 || (pending.method && pending.method !== method)) return false;
  pending.count -= 1;
  return true;
}

/** mulberry32: a small, fast generator whose sequence a seed fixes. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
