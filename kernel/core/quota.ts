import type { EntityManager } from 'typeorm';
import type { KernelConfig } from './config';

export interface Quota {
  maxInstances: number;
  used: number;
}

/** Live instances count against the quota; the account's override beats the configured default. */
export async function quotaOf(m: EntityManager, config: KernelConfig, accountId: string): Promise<Quota> {
  const rows: Array<{ max_instances: number | null; used: string }> = await m.query(
    `SELECT a.max_instances,
            (SELECT count(*) FROM instance i WHERE i.owner_id = a.id AND i.deleted_at IS NULL) AS used
       FROM account a WHERE a.id = $1`,
    [accountId],
  );
  const row = rows[0];
  return { maxInstances: row?.max_instances ?? config.quota.defaultMaxInstances, used: Number(row?.used ?? 0) };
}
