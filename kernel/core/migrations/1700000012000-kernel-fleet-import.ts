import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Which rows of an imported fleet became which rows here: a second import skips them. */
export class KernelFleetImport1700000012000 implements MigrationInterface {
  name = 'KernelFleetImport1700000012000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE fleet_import_row (
      kind text NOT NULL CHECK (kind IN ('account','server')),
      ref text NOT NULL,
      target_id uuid NOT NULL,
      source text NULL,
      imported_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (kind, ref))`);
    await q.query(`CREATE UNIQUE INDEX fleet_import_row_target_uq ON fleet_import_row (target_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS fleet_import_row`);
  }
}
