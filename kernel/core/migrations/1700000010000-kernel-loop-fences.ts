import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The highest fencing token seen per leader loop: a write carrying a lower one is refused. */
export class KernelLoopFences1700000010000 implements MigrationInterface {
  name = 'KernelLoopFences1700000010000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE loop_fence (
      loop text PRIMARY KEY,
      token bigint NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now())`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS loop_fence`);
  }
}
