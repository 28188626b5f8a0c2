import type { AgentReadiness } from '../../api';

const MAX_ENTRIES = 10_000;

/**
 * Readiness per instance for a short TTL, with one agent call in flight per instance: a
 * thousand concurrent status reads cost one call per TTL per server.
 */
export class ReadinessCache {
  private readonly entries = new Map<string, { at: number; value: AgentReadiness }>();
  private readonly inflight = new Map<string, Promise<AgentReadiness>>();

  constructor(private readonly ttlMs: number) {}

  async get(instanceId: string, probe: () => Promise<AgentReadiness>): Promise<AgentReadiness> {
    const hit = this.entries.get(instanceId);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.value;
    let pending = this.inflight.get(instanceId);
    if (!pending) {
      pending = probe()
        .catch((err: Error): AgentReadiness => ({ ready: false, detail: { error: err.message } }))
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
