type CountedFault = 'alreadyExists' | 'lockTimeout' | 'taskError' | 'dropConnections';

/**
 * Failures the simulator injects, changed at runtime by tests. The counters are "the next N":
 * each firing uses one up.
 */
export class ProxmoxFaults {
  /** Delay before every answer. */
  latencyMs: number;
  /** Share (0..1) of requests answered 500 "cluster not ready - no quorum?". */
  errorRatio = 0;
  /** Next N creates answer "CT N already exists" even when the VMID is free. */
  alreadyExists = 0;
  /** Next N lock-taking calls (create, start, shutdown, stop, delete) answer a config lock timeout. */
  lockTimeout = 0;
  /** Next N tasks stop with exitstatus 'command failed' (and do nothing). */
  taskError = 0;
  /** Next N requests have their connection destroyed without an answer. */
  dropConnections = 0;
  private failures = { count: 0, status: 500 };
  private random: () => number = Math.random;

  constructor(private readonly baseLatencyMs = 0, seed?: number) {
    this.latencyMs = baseLatencyMs;
    if (seed !== undefined) this.seed(seed);
  }

  /** Makes errorRatio's draws repeatable: the same seed gives the same sequence of hits. */
  seed(seed: number): void {
    this.random = mulberry32(seed);
  }

  /** Whether this request is one of the errorRatio share. */
  rollError(): boolean {
    return this.errorRatio > 0 && this.random() < this.errorRatio;
  }

  /** The next `count` requests, whatever they are, answer `status`. */
  failNext(count: number, status = 500): void {
    this.failures = { count, status };
  }

  /** Uses up one of the next-N faults; true when it fires. */
  take(fault: CountedFault): boolean {
    if (this[fault] <= 0) return false;
    this[fault] -= 1;
    return true;
  }

  /** The status to fail this request with, if failNext is still counting. */
  takeFailure(): number | undefined {
    if (this.failures.count <= 0) return undefined;
    this.failures.count -= 1;
    return this.failures.status;
  }

  clear(): void {
    this.latencyMs = this.baseLatencyMs;
    this.errorRatio = 0;
    this.alreadyExists = this.lockTimeout = this.taskError = this.dropConnections = 0;
    this.failures = { count: 0, status: 500 };
  }
}

/** A small seeded PRNG (mulberry32): uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
