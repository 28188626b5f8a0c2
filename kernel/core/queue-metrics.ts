import { Gauge } from 'prom-client';
import type { KernelMetrics } from './metrics';
import type { KernelQueues } from './queues';

/** Queue depth and staleness, read from BullMQ when Prometheus scrapes. */
export function registerQueueMetrics(metrics: KernelMetrics, queues: KernelQueues): void {
  new Gauge({
    name: 'zpack_queue_jobs', help: 'Jobs per queue and state', labelNames: ['queue', 'state'] as const, registers: [metrics.registry],
    async collect() {
      const stats = await queues.stats().catch(() => []);
      for (const s of stats) for (const state of ['waiting', 'active', 'delayed', 'failed'] as const) this.set({ queue: s.queue, state }, s[state]);
    },
  });
  new Gauge({
    name: 'zpack_queue_oldest_waiting_seconds', help: 'Age of the oldest waiting job per queue', labelNames: ['queue'] as const, registers: [metrics.registry],
    async collect() {
      const stats = await queues.stats().catch(() => []);
      for (const s of stats) this.set({ queue: s.queue }, s.oldestWaitingSeconds);
    },
  });
}
