import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The kernel's own instance state leaves the plugin payload: the container host, the last crash,
 * the supervisor's restart count and the last backup and restore events get columns of their
 * own, so `payload` holds plugin sections only (each written by its plugin alone). Operation
 * checkpoints lose the facts they repeated from the instance row.
 */
export class KernelInstanceState1700000006000 implements MigrationInterface {
  name = 'KernelInstanceState1700000006000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE instance
      ADD COLUMN host text NULL,
      ADD COLUMN last_crash jsonb NULL,
      ADD COLUMN supervisor jsonb NULL,
      ADD COLUMN last_backup jsonb NULL,
      ADD COLUMN last_restore jsonb NULL`);
    // The host was only ever kept inside the agent URL; IPv6 literals lose their brackets.
    // The crash summary's time is named like every other event time: `at` becomes `crashedAt`.
    await q.query(`UPDATE instance SET
      host = NULLIF(btrim(substring(address from '^[a-zA-Z][a-zA-Z0-9+.-]*://(\\[[^\\]]+\\]|[^/:?#]+)'), '[]'), ''),
      last_crash = CASE WHEN (payload->'crash') ? 'at'
        THEN ((payload->'crash') - 'at') || jsonb_build_object('crashedAt', payload->'crash'->'at') ELSE payload->'crash' END,
      supervisor = payload->'supervisor',
      last_backup = payload->'backup', last_restore = payload->'restore',
      payload = payload - 'crash' - 'supervisor' - 'backup' - 'restore'`);
    // Checkpoints keep progress only; what a step learnt is in the instance row already.
    await q.query(`UPDATE provisioning_operation SET checkpoint = (checkpoint - 'vmid' - 'node' - 'ports' - 'address')
      || CASE WHEN checkpoint ? 'vmid' THEN '{"allocated": true}'::jsonb ELSE '{}'::jsonb END
      || CASE WHEN checkpoint ? 'address' THEN '{"located": true}'::jsonb ELSE '{}'::jsonb END
      WHERE checkpoint ?| ARRAY['vmid', 'node', 'ports', 'address']`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE instance SET payload = payload || jsonb_strip_nulls(jsonb_build_object(
      'crash', last_crash, 'supervisor', supervisor, 'backup', last_backup, 'restore', last_restore))`);
    await q.query(`ALTER TABLE instance DROP COLUMN host, DROP COLUMN last_crash, DROP COLUMN supervisor, DROP COLUMN last_backup, DROP COLUMN last_restore`);
  }
}
