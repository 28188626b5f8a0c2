import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per kernel, so two kernels in a process keep separate numbers. */
export class KernelMetrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'zpack_http_request_duration_seconds',
    help: 'HTTP request duration by route template',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly hookDuration = new Histogram({
    name: 'zpack_hook_tap_duration_seconds',
    help: 'Time each plugin tap took per hook',
    labelNames: ['hook', 'plugin', 'outcome'] as const,
    buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 2, 10],
    registers: [this.registry],
  });
  readonly jobsProcessed = new Counter({
    name: 'zpack_jobs_processed_total',
    help: 'Jobs finished by queue, name and outcome',
    labelNames: ['queue', 'name', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly retentionPruned = new Counter({
    name: 'zpack_retention_pruned_rows_total',
    help: 'Rows deleted by the retention policy, by table',
    labelNames: ['table'] as const,
    registers: [this.registry],
  });

  constructor(withProcessMetrics = true) {
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'zpack_' });
  }
}
