import type { DataSource } from 'typeorm';
import { ProvisioningOperation } from '../entities';
import { hotQuery, returnedRows } from '../database';

/**
 * A worker's exclusive hold on an operation. BullMQ delivers at least once; the lease makes
 * the second delivery wait until the first holder is gone (its lease expired) before it adopts.
 */
export class OperationLease {
  constructor(private readonly ds: DataSource, private readonly owner: string, private readonly seconds: number) {}

  /**
   * Takes the lease, waiting for a live holder's to expire; null if the operation is finished.
   * A scheduled wake-up (`resumed`) continues a parked run and is not counted as an attempt.
   */
  async acquire(id: string, resumed = false): Promise<ProvisioningOperation | null> {
    const deadline = Date.now() + (this.seconds + 5) * 1000;
    for (;;) {
      const [taken] = returnedRows<Record<string, unknown>>(await this.ds.query(
        `UPDATE provisioning_operation
            SET lease_owner = $2, lease_until = now() + make_interval(secs => $3), state = 'running',
                attempts = attempts + CASE WHEN $4 THEN 0 ELSE 1 END, updated_at = now()
          WHERE id = $1 AND state IN ('queued','running') AND (lease_until IS NULL OR lease_until < now() OR lease_owner = $2)
        RETURNING *`,
        [id, this.owner, this.seconds, resumed],
      ));
      if (taken) return this.hydrate(taken);
      const op = await this.ds.getRepository(ProvisioningOperation).findOneBy({ id });
      if (!op || (op.state !== 'queued' && op.state !== 'running')) return null;
      if (Date.now() > deadline) throw new Error(`operation ${id} is leased by ${op.leaseOwner}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /**
   * Extends the lease and, in the same statement, records the phase being entered and the
   * checkpoint reached so far when given; false when the lease was lost.
   */
  async renew(id: string, phase?: string, checkpoint?: object): Promise<boolean> {
    // Several per operation, so a prepared statement straight on the pool.
    const rows = await hotQuery(this.ds, 'zpack_lease_renew',
      `UPDATE provisioning_operation SET lease_until = now() + make_interval(secs => $3), phase = COALESCE($4, phase),
              checkpoint = COALESCE($5::jsonb, checkpoint), updated_at = now()
        WHERE id = $1 AND lease_owner = $2 AND state = 'running' RETURNING id`,
      [id, this.owner, this.seconds, phase ?? null, checkpoint ? JSON.stringify(checkpoint) : null],
    );
    return rows.length > 0;
  }

  /** The row the taking statement returned, as the entity a read would have given (one statement fewer per run). */
  private hydrate(raw: Record<string, unknown>): ProvisioningOperation {
    const meta = this.ds.getMetadata(ProvisioningOperation);
    const op = meta.create() as ProvisioningOperation;
    for (const column of meta.columns) column.setEntityValue(op, this.ds.driver.prepareHydratedValue(raw[column.databaseName], column));
    return op;
  }

  /** Lets go of a running operation that waits for a scheduled wake-up; saves its checkpoint. */
  async park(id: string, checkpoint: object): Promise<boolean> {
    const res = await this.ds.query(
      `UPDATE provisioning_operation SET lease_owner = NULL, lease_until = NULL, checkpoint = $3::jsonb, updated_at = now()
        WHERE id = $1 AND lease_owner = $2 AND state = 'running' RETURNING id`,
      [id, this.owner, JSON.stringify(checkpoint)],
    );
    return returnedRows(res).length > 0;
  }
}
