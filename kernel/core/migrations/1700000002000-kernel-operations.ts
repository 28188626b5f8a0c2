import type { MigrationInterface, QueryRunner } from 'typeorm';

export class KernelOperations1700000002000 implements MigrationInterface {
  name = 'KernelOperations1700000002000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE provisioning_operation (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      account_id uuid NOT NULL REFERENCES account(id),
      idempotency_key text NULL,
      request_hash text NULL,
      kind text NOT NULL CHECK (kind IN ('create','delete')),
      state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued','running','succeeded','failed','stale')),
      phase text NOT NULL DEFAULT 'queued',
      instance_id uuid NULL REFERENCES instance(id),
      input jsonb NOT NULL DEFAULT '{}',
      checkpoint jsonb NOT NULL DEFAULT '{}',
      error jsonb NULL,
      attempts int NOT NULL DEFAULT 0,
      lease_owner text NULL,
      lease_until timestamptz NULL,
      deadline_at timestamptz NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now())`);
    // Keys are scoped to the account: the same key from two accounts is two operations.
    await q.query(`CREATE UNIQUE INDEX operation_idempotency_uq ON provisioning_operation (account_id, idempotency_key) WHERE idempotency_key IS NOT NULL`);
    // At most one unfinished operation per instance: concurrent deletes collapse into one.
    await q.query(`CREATE UNIQUE INDEX operation_active_instance_uq ON provisioning_operation (instance_id) WHERE state IN ('queued','running') AND instance_id IS NOT NULL`);
    await q.query(`CREATE INDEX operation_state_idx ON provisioning_operation (state, updated_at)`);
    await q.query(`CREATE TABLE vmid_allocation (
      vmid int PRIMARY KEY,
      instance_id uuid NULL UNIQUE REFERENCES instance(id),
      reason text NOT NULL DEFAULT 'instance',
      created_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE TABLE port_allocation (
      port int PRIMARY KEY,
      instance_id uuid NOT NULL REFERENCES instance(id),
      name text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE INDEX port_allocation_instance_idx ON port_allocation (instance_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['port_allocation', 'vmid_allocation', 'provisioning_operation']) await q.query(`DROP TABLE IF EXISTS ${t}`);
  }
}
