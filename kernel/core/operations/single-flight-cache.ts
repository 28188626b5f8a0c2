const MAX_ENTRIES = 10_000;

/**
 * One answer per instance for a short TTL, with one call in flight per instance: a thousand
 * concurrent reads cost one agent call per TTL per server. A failed call is not remembered.
 */
export class SingleFlightCache<T> {
  private readonly entries = new Map<string, { at: number; value: T }>();
  private readonly inflight = new Map<string, Promise<T>>();

  constructor(private readonly ttlMs: number) {}

  get(instanceId: string, fetch: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(instanceId);
    if (hit && Date.now() - hit.at < this.ttlMs) return Promise.resolve(hit.value);
    let pending = this.inflight.get(instanceId);
    if (!pending) {
      pending = fetch()
        .then((value) => {
          this.entries.set(instanceId, { at: Date.now(), value });
          if (this.entries.size > MAX_ENTRIES) this.prune();
          return value;
        })
        .finally(() => this.inflight.delete(instanceId));
      this.inflight.set(instanceId, pending);
    }
    return pending;
  }

  /** Expired answers of instances nobody reads any more (deleted ones) would otherwise stay forever. */
  private prune(): void {
    const now = Date.now();
    for (const [id, e] of this.entries) if (now - e.at >= this.ttlMs) this.entries.delete(id);
  }
}
