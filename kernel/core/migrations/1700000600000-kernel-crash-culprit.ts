import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A crash report names what its log tail blames (a mod, a plugin), when the type can tell. */
export class KernelCrashCulprit1700000600000 implements MigrationInterface {
  name = 'KernelCrashCulprit1700000600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE crash_report ADD COLUMN IF NOT EXISTS culprit jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE crash_report DROP COLUMN IF EXISTS culprit`);
  }
}
