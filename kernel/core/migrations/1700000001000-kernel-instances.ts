import type { MigrationInterface, QueryRunner } from 'typeorm';

export class KernelInstances1700000001000 implements MigrationInterface {
  name = 'KernelInstances1700000001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE instance (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      owner_id uuid NOT NULL REFERENCES account(id),
      kind text NOT NULL CHECK (kind IN ('game','dev')),
      type text NOT NULL,
      name text NOT NULL,
      state text NOT NULL DEFAULT 'provisioning',
      vmid int NULL,
      node text NULL,
      address text NULL,
      ports jsonb NOT NULL DEFAULT '[]',
      payload jsonb NOT NULL DEFAULT '{}',
      deleted_at timestamptz NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE INDEX instance_owner_idx ON instance (owner_id) WHERE deleted_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS instance`);
  }
}
