/**
 * Failures the bridge simulator injects, changed at runtime by tests. The counters are
 * "the next N": each firing uses one up.
 */
export class BridgeFaults {
  /** Delay before every answer. */
  latencyMs: number;
  /** Share (0..1) of requests answered 503. */
  errorRatio = 0;
  /** Next N requests have their connection destroyed without an answer. */
  dropConnections = 0;
  private failures = { count: 0, status: 500 };

  constructor(private readonly baseLatencyMs = 0) {
    this.latencyMs = baseLatencyMs;
  }

  /** The next `count` requests, whatever they are, answer `status` and change nothing. */
  failNext(count: number, status = 500): void {
    this.failures = { count, status };
  }

  /** Uses up one dropped connection; true when it fires. */
  takeDrop(): boolean {
    if (this.dropConnections <= 0) return false;
    this.dropConnections -= 1;
    return true;
  }

  /** The status to fail this request with, if failNext is still counting or errorRatio strikes. */
  takeFailure(): number | undefined {
    if (this.failures.count > 0) {
      this.failures.count -= 1;
      return this.failures.status;
    }
    return Math.random() < this.errorRatio ? 503 : undefined;
  }

  clear(): void {
    this.latencyMs = this.baseLatencyMs;
    this.errorRatio = 0;
    this.dropConnections = 0;
    this.failures = { count: 0, status: 500 };
  }
}
