/** `true` = every container, a set = only those vmids, `false` = none. */
export type VmidSelector = boolean | ReadonlySet<number>;

export interface InjectedFailure {
  status: number;
  /** Sent as JSON, or as plain text when it is a string. */
  body: unknown;
}

export const selects = (selector: VmidSelector, vmid: number): boolean =>
  typeof selector === 'boolean' ? selector : selector.has(vmid);

/** Fault knobs of the agent simulator; tests set them at runtime, `reset()` clears them. */
export class SimFaults {
  /** Delay before every answer. */
  latencyMs: number;
  /** Selected containers stay `starting` forever after a boot. */
  neverReady: VmidSelector = false;
  /** Selected containers' requests get their socket destroyed, no answer. */
  dropConnections: VmidSelector = false;
  /** Selected containers' requests are held open and never answered (client timeouts). */
  unreachable: VmidSelector = false;
  private failures: InjectedFailure[] = [];

  constructor(private readonly baseLatencyMs = 0) {
    this.latencyMs = baseLatencyMs;
  }

  /** The next `n` requests (to any container) answer `status` with `body` and change nothing. */
  failNext(n: number, status = 500, body: unknown = { error: 'injected_failure' }): void {
    for (let i = 0; i < n; i++) this.failures.push({ status, body });
  }

  /** Consumes one injected failure, if any is pending. */
  takeFailure(): InjectedFailure | undefined {
    return this.failures.shift();
  }

  reset(): void {
    this.latencyMs = this.baseLatencyMs;
    this.neverReady = false;
    this.dropConnections = false;
    this.unreachable = false;
    this.failures = [];
  }
}
