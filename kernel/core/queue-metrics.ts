import { Gauge } from 'prom-client';
import type { KernelMetrics } from './metrics';
import type { KernelQueues, QueueStats } from './queues';

/** Queue depth and staleness, read from BullMQ when Prometheus scrapes. */
export function registerQueueMetrics(metrics: KernelMetrics, queues: KernelQueues): void {
  // Both gauges are collected in one scrape: they share one read of the queues.
  let scrape: { at: number; stats: Promise<QueueStats[]> } | undefined;
  const read = () => {
    if (!scrape || Date.now() - scrape.at > 1000) scrape = { at: Date.now(), stats: queues.stats().catch(() => []) };
    return scrape.stats;
  };
  new Gauge({
    name: 'zpack_queue_jobs', help: 'Jobs per queue and state', labelNames: ['queue', 'state'] as const, registers: [metrics.registry],
    async collect() {
      const stats = await read();
      for (const s of stats) for (const state of ['waiting', 'active', 'delayed', 'failed'] as const) this.set({ queue: s.queue, state }, s[state]);
    },
  });
  new Gauge({
    name: 'zpack_queue_oldest_waiting_seconds', help: 'Age of the oldest waiting job per queue', labelNames: ['queue'] as const, registers: [metrics.registry],
    async collect() {
      const stats = await read();
      for (const s of stats) this.set({ queue: s.queue }, s.oldestWaitingSeconds);
    },
  });
  new Gauge({
    name: 'zpack_queue_oldest_active_seconds', help: 'How long the longest-running active job per queue has run', labelNames: ['queue'] as const, registers: [metrics.registry],
    async collect() {
      const stats = await read();
      for (const s of stats) this.set({ queue: s.queue }, s.oldestActiveSeconds);
    },
  });
}
