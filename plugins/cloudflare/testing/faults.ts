/**
 * Failures the Cloudflare simulator injects, changed at runtime by tests. The counters are
 * "the next N requests": each firing uses one up.
 */
export class CloudflareFaults {
  /** Delay before every answer. */
  latencyMs: number;
  /** Share (0..1) of requests answered 500. */
  errorRatio = 0;
  /** Next N requests have their connection destroyed without an answer. */
  dropConnections = 0;
  /** Listing ignores its type and name filter and answers the whole zone (a server-side regression). */
  ignoreListFilter = false;
  private failures: { count: number; status: number; method?: string } = { count: 0, status: 500 };
  private rateLimits: { count: number; retryAfterSeconds: number; method?: string } = { count: 0, retryAfterSeconds: 1 };

  constructor(private readonly baseLatencyMs = 0) {
    this.latencyMs = baseLatencyMs;
  }

  /** The next `count` authenticated requests (only those of `method`, when given) answer `status` and change nothing. */
  failNext(count: number, status = 500, method?: string): void {
    this.failures = { count, status, method };
  }

  /** The next `count` authenticated requests (only those of `method`, when given) answer 429 with `Retry-After: retryAfterSeconds`. */
  rateLimitNext(count: number, retryAfterSeconds = 1, method?: string): void {
    this.rateLimits = { count, retryAfterSeconds, method };
  }

  /** Uses up one dropped connection; true when it fires. */
  takeDrop(): boolean {
    if (this.dropConnections <= 0) return false;
    this.dropConnections -= 1;
    return true;
  }

  /** The Retry-After of this request's 429, if rateLimitNext is still counting. */
  takeRateLimit(method: string): number | undefined {
    if (this.rateLimits.count <= 0 || (this.rateLimits.method && this.rateLimits.method !== method)) return undefined;
    this.rateLimits.count -= 1;
    return this.rateLimits.retryAfterSeconds;
  }

  /** The status to fail this request with, if failNext is still counting or errorRatio says so. */
  takeFailure(method: string): number | undefined {
    if (this.failures.count > 0 && (!this.failures.method || this.failures.method === method)) {
      this.failures.count -= 1;
      return this.failures.status;
    }
    return Math.random() < this.errorRatio ? 500 : undefined;
  }

  clear(): void {
    this.latencyMs = this.baseLatencyMs;
    this.errorRatio = 0;
    this.dropConnections = 0;
    this.ignoreListFilter = false;
    this.failures = { count: 0, status: 500 };
    this.rateLimits = { count: 0, retryAfterSeconds: 1 };
  }
}
