import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Plugins define operations of their own (`<plugin>.<name>`): the kind is no longer a closed list. */
export class KernelPluginOperations1700000011000 implements MigrationInterface {
  name = 'KernelPluginOperations1700000011000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE provisioning_operation DROP CONSTRAINT IF EXISTS provisioning_operation_kind_check`);
    await q.query(`ALTER TABLE provisioning_operation ADD CONSTRAINT provisioning_operation_kind_check
      CHECK (kind IN ('create','delete') OR kind ~ '^[a-z][a-z0-9-]*\\.[a-z][a-z0-9.-]*$')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE provisioning_operation DROP CONSTRAINT IF EXISTS provisioning_operation_kind_check`);
    await q.query(`ALTER TABLE provisioning_operation ADD CONSTRAINT provisioning_operation_kind_check CHECK (kind IN ('create','delete'))`);
  }
}
