import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { KernelConfig } from './config';
import { returnedRows } from './database';
import type { KernelMetrics } from './metrics';

export const RETENTION_JOB = 'kernel.retention';

/** Rows deleted per statement, so a first run over a large backlog never holds long locks. */
const BATCH = 1000;

const olderThan = (column: string, param: string) => `${column} < now() - ${param} * interval '1 day'`;

/**
 * Deleted instances that nothing references any more: their operations are pruned first (and
 * allocations were released at teardown), so an instance that still has either is kept.
 */
const PRUNABLE_INSTANCE = `${olderThan('i.deleted_at', '$1')}
  AND NOT EXISTS (SELECT 1 FROM provisioning_operation o WHERE o.instance_id = i.id)
  AND NOT EXISTS (SELECT 1 FROM vmid_allocation v WHERE v.instance_id = i.id)
  AND NOT EXISTS (SELECT 1 FROM port_allocation p WHERE p.instance_id = i.id)`;

/**
 * Prunes what is only history: finished operations, soft-deleted instances (with their crash
 * reports), old crash reports and delivered notifications. Audit events are kept. Run as a
 * repeatable job, so one worker in the fleet does it each time.
 */
export class RetentionPolicy {
  constructor(
    private readonly ds: DataSource,
    private readonly policy: KernelConfig['retention'],
    private readonly metrics: KernelMetrics,
    private readonly logger: Logger,
    private readonly uptime?: { prune(days: number): Promise<number> },
  ) {}

  async prune(): Promise<Record<string, number>> {
    const p = this.policy;
    const pruned: Record<string, number> = {
      provisioning_operation: await this.deleteBatched('provisioning_operation', `state IN ('succeeded','failed','stale') AND ${olderThan('updated_at', '$1')}`, p.operationsDays),
      notification: await this.deleteBatched('notification', `state IN ('sent','undeliverable','suppressed') AND ${olderThan('updated_at', '$1')}`, p.notificationsDays),
      crash_report: await this.deleteBatched('crash_report', olderThan('created_at', '$1'), p.crashReportsDays),
    };
    pruned.crash_report += await this.deleteBatched('crash_report', `instance_id IN (SELECT i.id FROM instance i WHERE ${PRUNABLE_INSTANCE})`, p.deletedInstancesDays);
    if (this.uptime) pruned.uptime = await this.uptime.prune(p.uptimeDays);
    pruned.instance = await this.deleteBatched('instance', `id IN (SELECT i.id FROM instance i WHERE ${PRUNABLE_INSTANCE})`, p.deletedInstancesDays);
    for (const [table, rows] of Object.entries(pruned)) if (rows) this.metrics.retentionPruned.inc({ table }, rows);
    this.logger.info({ pruned }, 'retention: old rows pruned');
    return pruned;
  }

  private async deleteBatched(table: string, where: string, days: number): Promise<number> {
    let total = 0;
    for (;;) {
      const rows = returnedRows(await this.ds.query(
        `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE ${where} LIMIT ${BATCH}) RETURNING id`, [days]));
      total += rows.length;
      if (rows.length < BATCH) return total;
    }
  }
}
