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

  // Lifecycle: what happened to servers, for dashboards and alerts.
  readonly operationsFinished = new Counter({
    name: 'zpack_operations_finished_total',
    help: 'Operations that ended, by kind (create, delete …) and outcome (succeeded, failed, stale)',
    labelNames: ['kind', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly phaseDuration = new Histogram({
    name: 'zpack_operation_phase_duration_seconds',
    help: 'Time one run of an operation spent in each phase',
    labelNames: ['kind', 'phase'] as const,
    buckets: [0.05, 0.25, 1, 2.5, 5, 10, 30, 60, 180, 600],
    registers: [this.registry],
  });
  readonly crashes = new Counter({
    name: 'zpack_crashes_total',
    help: 'Crashes recorded, by classification',
    labelNames: ['class'] as const,
    registers: [this.registry],
  });
  readonly billingTransitions = new Counter({
    name: 'zpack_billing_transitions_total',
    help: 'Billing enforcement transitions, by the state entered (restored: back to active)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  constructor(withProcessMetrics = true) {
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'zpack_' });
  }
}
