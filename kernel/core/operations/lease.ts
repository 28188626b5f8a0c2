import type { DataSource } from 'typeorm';
import { Instance, ProvisioningOperation, type OperationError } from '../entities';
import { hotQuery, hydrate } from '../database';

/** Instance columns a run may record with a lease statement (what its steps learn), by property. */
const INSTANCE_COLUMNS = {
  vmid: { column: 'vmid', cast: 'int' },
  node: { column: 'node', cast: 'text' },
  ports: { column: 'ports', cast: 'jsonb' },
  address: { column: 'address', cast: 'text' },
  host: { column: 'host', cast: 'text' },
  state: { column: 'state', cast: 'text' },
} as const;

export type InstanceFacts = Partial<Pick<Instance, keyof typeof INSTANCE_COLUMNS>>;

/** An operation whose lease this worker holds, with its instance row as the taking statement read it. */
export interface Leased {
  op: ProvisioningOperation;
  instance: Instance | null;
}

/**
 * A worker's exclusive hold on an operation. BullMQ delivers at least once; the lease makes
 * the second delivery wait until the first holder is gone (its lease expired) before it adopts.
 * Every write of a run after the taking goes through the lease: it is refused once another
 * worker holds the operation (fencing), instance facts included.
 */
export class OperationLease {
  constructor(private readonly ds: DataSource, private readonly owner: string, private readonly seconds: number) {}

  /**
   * Takes the lease, waiting for a live holder's to expire; null if the operation is finished.
   * A scheduled wake-up (`resumed`) continues a parked run and is not counted as an attempt.
   * A fresh operation (phase 'queued') enters `firstPhase` in the same statement, and the
   * instance row comes back with it, so a run starts without a read of its own.
   */
  async acquire(id: string, resumed = false, firstPhase?: string): Promise<Leased | null> {
    const deadline = Date.now() + (this.seconds + 5) * 1000;
    for (;;) {
      const [taken] = await hotQuery<Record<string, unknown>>(this.ds, 'zpack_lease_acquire',
        `UPDATE provisioning_operation
            SET lease_owner = $2, lease_until = now() + make_interval(secs => $3), state = 'running',
                attempts = attempts + CASE WHEN $4 THEN 0 ELSE 1 END, updated_at = now(),
                phase = CASE WHEN phase = 'queued' THEN COALESCE($5, phase) ELSE phase END
          WHERE id = $1 AND state IN ('queued','running') AND (lease_until IS NULL OR lease_until < now() OR lease_owner = $2)
        RETURNING *, (SELECT to_jsonb(i) FROM instance i WHERE i.id = provisioning_operation.instance_id) AS zpack_instance_row`,
        [id, this.owner, this.seconds, resumed, firstPhase ?? null],
      );
      if (taken) {
        const row = taken.zpack_instance_row as Record<string, unknown> | null;
        return { op: hydrate(this.ds, ProvisioningOperation, taken), instance: row ? hydrate(this.ds, Instance, row) : null };
      }
      const [op] = await hotQuery<{ state: string; lease_owner: string | null }>(this.ds, 'zpack_lease_holder',
        `SELECT state, lease_owner FROM provisioning_operation WHERE id = $1`, [id]);
      if (!op || (op.state !== 'queued' && op.state !== 'running')) return null;
      if (Date.now() > deadline) throw new Error(`operation ${id} is leased by ${op.lease_owner}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /**
   * Extends the lease and, in the same statement, records the phase being entered, the
   * checkpoint reached so far and the instance facts learnt since the last write, when given;
   * false when the lease was lost (then nothing is written).
   */
  async renew(id: string, phase?: string, checkpoint?: object, facts?: InstanceFacts): Promise<boolean> {
    const set = factColumns(facts);
    const values: unknown[] = [id, this.owner, this.seconds, phase ?? null, checkpoint ? JSON.stringify(checkpoint) : null];
    const op = `UPDATE provisioning_operation SET lease_until = now() + make_interval(secs => $3), phase = COALESCE($4, phase),
              checkpoint = COALESCE($5::jsonb, checkpoint), updated_at = now()
        WHERE id = $1 AND lease_owner = $2 AND state = 'running'`;
    if (!set.length) {
      // Several per operation, so a prepared statement straight on the pool.
      return (await hotQuery(this.ds, 'zpack_lease_renew', `${op} RETURNING id`, values)).length > 0;
    }
    // The instance is written only through the operation row this worker still holds.
    const assignments = set.map(([, { column, cast }], i) => `${column} = $${6 + i}::${cast}`).join(', ');
    for (const [key, { cast }] of set) values.push(cast === 'jsonb' ? JSON.stringify(facts![key]) : facts![key]);
    const rows = await hotQuery<{ held: number }>(this.ds, `zpack_lease_renew_${set.map(([key]) => key).join('_')}`,
      `WITH op AS (${op} RETURNING instance_id),
            facts AS (UPDATE instance SET ${assignments}, updated_at = now() FROM op WHERE instance.id = op.instance_id)
       SELECT count(*)::int AS held FROM op`,
      values,
    );
    return rows[0].held > 0;
  }

  /** Lets go of a running operation that waits for a scheduled wake-up; saves its checkpoint. */
  async park(id: string, checkpoint: object): Promise<boolean> {
    const rows = await hotQuery(this.ds, 'zpack_lease_park',
      `UPDATE provisioning_operation SET lease_owner = NULL, lease_until = NULL, checkpoint = $3::jsonb, updated_at = now()
        WHERE id = $1 AND lease_owner = $2 AND state = 'running' RETURNING id`,
      [id, this.owner, JSON.stringify(checkpoint)],
    );
    return rows.length > 0;
  }

  /**
   * Ends the operation and lets go of it; answers the owner's email (whoever tells the owner
   * needs it, and it costs no statement of its own here).
   */
  async finish(id: string, state: 'succeeded' | 'failed', phase: string, checkpoint: object, error: OperationError | null): Promise<{ ownerEmail: string | null }> {
    const [row] = await hotQuery<{ owner_email: string | null }>(this.ds, 'zpack_lease_finish',
      `UPDATE provisioning_operation SET state = $2, error = $3::jsonb, checkpoint = $4::jsonb, lease_owner = NULL, lease_until = NULL,
              phase = $5, updated_at = now()
        WHERE id = $1 RETURNING (SELECT email FROM account WHERE account.id = provisioning_operation.account_id) AS owner_email`,
      [id, state, error === null ? null : JSON.stringify(error), JSON.stringify(checkpoint), phase],
    );
    return { ownerEmail: row?.owner_email ?? null };
  }
}

function factColumns(facts: InstanceFacts | undefined): Array<[keyof typeof INSTANCE_COLUMNS, (typeof INSTANCE_COLUMNS)[keyof typeof INSTANCE_COLUMNS]]> {
  if (!facts) return [];
  return (Object.keys(INSTANCE_COLUMNS) as Array<keyof typeof INSTANCE_COLUMNS>)
    .filter((key) => facts[key] !== undefined).map((key) => [key, INSTANCE_COLUMNS[key]]);
}
