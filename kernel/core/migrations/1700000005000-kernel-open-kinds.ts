import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Kinds are declared by the enabled instance types, not listed by the database. */
export class KernelOpenKinds1700000005000 implements MigrationInterface {
  name = 'KernelOpenKinds1700000005000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE instance DROP CONSTRAINT IF EXISTS instance_kind_check`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE instance ADD CONSTRAINT instance_kind_check CHECK (kind IN ('game','dev'))`);
  }
}
