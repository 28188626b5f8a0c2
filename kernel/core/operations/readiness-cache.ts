import type { AgentReadiness } from '../../api';
import { SingleFlightCache } from './single-flight-cache';

/** Readiness per instance (the status route): an agent that cannot be asked reads as not ready, for the TTL. */
export class ReadinessCache {
  private readonly cache: SingleFlightCache<AgentReadiness>;

  constructor(ttlMs: number) {
    this.cache = new SingleFlightCache(ttlMs);
  }

  get(instanceId: string, probe: () => Promise<AgentReadiness>): Promise<AgentReadiness> {
    return this.cache.get(instanceId, () => probe().catch((err: Error): AgentReadiness => ({ ready: false, detail: { error: err.message } })));
  }
}
