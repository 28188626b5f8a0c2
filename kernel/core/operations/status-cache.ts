const MAX_ENTRIES = 10_000;

/**
 * The agent's status per instance for a short TTL, with one agent call in flight per instance (the
 * resources route): a failed call is not remembered, so the next reader asks again.
 */
export class AgentStatusCache {
  private readonly entries = new Map<string, { at: number; value: Record<string, unknown> }>();
  private readonly inflight = new Map<string, Promise<Record<string, unknown>>>();

  constructor(private readonly ttlMs: number) {}

  get(instanceId: string, fetch: () => Promise<Record<string, unknown>>): Promise<Record<string, unknown>> {
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

  private prune(): void {
    const now = Date.now();
    for (const [id, e] of this.entries) if (now - e.at >= this.ttlMs) this.entries.delete(id);
  }
}
