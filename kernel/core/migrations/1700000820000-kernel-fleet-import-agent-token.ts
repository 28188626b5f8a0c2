import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The token an imported server's agent accepted in the old system, when the file names one: an
 * approved agent_token_provision repair presents it once to give the agent ours, then erases it.
 */
export class KernelFleetImportAgentToken1700000820000 implements MigrationInterface {
  name = 'KernelFleetImportAgentToken1700000820000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE fleet_import_row ADD COLUMN IF NOT EXISTS agent_token text NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE fleet_import_row DROP COLUMN IF EXISTS agent_token`);
  }
}
