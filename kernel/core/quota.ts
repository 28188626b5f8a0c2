import type { DataSource } from 'typeorm';
import type { KernelConfig } from './config';
import { hotQuery } from './database';

export interface Quota {
  maxInstances: number;
  used: number;
}

const QUOTA_SQL = `SELECT a.max_instances,
       (SELECT count(*) FROM instance i WHERE i.owner_id = a.id AND i.deleted_at IS NULL) AS used
  FROM account a WHERE a.id = $1`;

type QuotaRow = { max_instances: number | null; used: string };
const toQuota = (row: QuotaRow | undefined, config: KernelConfig, planMax?: number): Quota =>
  ({ maxInstances: row?.max_instances ?? planMax ?? config.quota.defaultMaxInstances, used: Number(row?.used ?? 0) });

/**
 * Live instances count against the quota; the account's override beats its plan's limit
 * (`planMax`, from BillingGate.entitlementsOf), which beats the configured default. A create
 * checks the same under the account's lock, in zpack_accept_create (migration 1700000830000).
 * As a prepared statement (GET /api/me).
 */
export async function currentQuota(ds: DataSource, config: KernelConfig, accountId: string, planMax?: number): Promise<Quota> {
  return toQuota((await hotQuery<QuotaRow>(ds, 'zpack_quota', QUOTA_SQL, [accountId]))[0], config, planMax);
}
