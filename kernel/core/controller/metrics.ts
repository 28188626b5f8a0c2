import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { PassReport } from './reconciler';

/** What the controller and the repair worker export. */
export class ControllerMetrics {
  private readonly passSeconds: Histogram<'outcome'>;
  private readonly open: Gauge<'kind' | 'state'>;
  readonly repairs: Counter<'kind' | 'outcome'>;
  private readonly detectorFailures: Counter<'detector'>;
  private readonly alerts: Counter<'queue'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.passSeconds = new Histogram({
      name: 'zpack_controller_pass_seconds', help: 'Duration of one reconcile pass', labelNames: ['outcome'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers,
    });
    this.open = new Gauge({ name: 'zpack_controller_findings', help: 'Findings of the last pass by kind and state', labelNames: ['kind', 'state'] as const, registers });
    this.repairs = new Counter({ name: 'zpack_repairs_total', help: 'Repairs run by the repair worker, by drift kind and outcome (done, failed, skipped)', labelNames: ['kind', 'outcome'] as const, registers });
    this.detectorFailures = new Counter({ name: 'zpack_controller_detector_failures_total', help: 'Drift detectors that failed a pass', labelNames: ['detector'] as const, registers });
    this.alerts = new Counter({ name: 'zpack_queue_alerts_total', help: 'Ops alerts sent about stale queues', labelNames: ['queue'] as const, registers });
  }

  observePass(report: PassReport): void {
    this.passSeconds.observe({ outcome: 'ok' }, report.durationMs / 1000);
    this.open.reset();
    for (const f of report.findings) this.open.inc({ kind: f.kind, state: f.state });
    for (const d of report.detectors) if (!d.ok) this.detectorFailures.inc({ detector: d.name });
  }

  passFailed(seconds: number): void {
    this.passSeconds.observe({ outcome: 'error' }, seconds);
  }

  alerted(queue: string): void {
    this.alerts.inc({ queue });
  }
}
