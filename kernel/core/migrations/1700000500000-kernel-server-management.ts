import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Sharing (subusers), personal API keys, the activity log, schedules and kernel-side backup records. */
export class KernelServerManagement1700000500000 implements MigrationInterface {
  name = 'KernelServerManagement1700000500000';

  async up(q: QueryRunner): Promise<void> {
    const base = `id uuid PRIMARY KEY DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now()`;
    await q.query(`ALTER TABLE instance ADD COLUMN IF NOT EXISTS options jsonb`);
    await q.query(`CREATE TABLE subuser (${base},
      instance_id uuid NOT NULL REFERENCES instance(id) ON DELETE CASCADE, email text NOT NULL, account_id uuid REFERENCES account(id) ON DELETE CASCADE,
      permissions jsonb NOT NULL DEFAULT '[]', invited_by uuid NOT NULL, accepted_at timestamptz)`);
    await q.query(`CREATE UNIQUE INDEX subuser_instance_email ON subuser (instance_id, email)`);
    await q.query(`CREATE INDEX subuser_account ON subuser (account_id)`);
    await q.query(`CREATE TABLE api_key (${base},
      account_id uuid NOT NULL REFERENCES account(id) ON DELETE CASCADE, name text NOT NULL, prefix text NOT NULL UNIQUE, secret_hash text NOT NULL,
      scopes jsonb NOT NULL DEFAULT '[]', allowed_ips jsonb, expires_at timestamptz, last_used_at timestamptz, last_used_ip text, revoked_at timestamptz)`);
    await q.query(`CREATE INDEX api_key_account ON api_key (account_id)`);
    await q.query(`CREATE TABLE activity_event (${base},
      instance_id uuid, account_id uuid, event text NOT NULL, actor_type text NOT NULL, actor_id text, ip text, properties jsonb NOT NULL DEFAULT '{}')`);
    await q.query(`CREATE INDEX activity_event_instance ON activity_event (instance_id, created_at)`);
    await q.query(`CREATE INDEX activity_event_account ON activity_event (account_id, created_at)`);
    await q.query(`CREATE TABLE schedule (${base},
      instance_id uuid NOT NULL REFERENCES instance(id) ON DELETE CASCADE, name text NOT NULL, cron text NOT NULL, timezone text NOT NULL,
      only_when_online boolean NOT NULL DEFAULT false, enabled boolean NOT NULL DEFAULT true, tasks jsonb NOT NULL DEFAULT '[]', last_result jsonb)`);
    await q.query(`CREATE INDEX schedule_instance ON schedule (instance_id)`);
    await q.query(`CREATE TABLE schedule_run (${base},
      schedule_id uuid NOT NULL REFERENCES schedule(id) ON DELETE CASCADE, tick_at timestamptz NOT NULL, outcome text NOT NULL, result jsonb)`);
    await q.query(`CREATE UNIQUE INDEX schedule_run_tick ON schedule_run (schedule_id, tick_at)`);
    await q.query(`CREATE TABLE backup_record (${base},
      instance_id uuid NOT NULL REFERENCES instance(id) ON DELETE CASCADE, backup_id text NOT NULL, locked boolean NOT NULL DEFAULT false,
      idempotency_key text, request_hash text, created jsonb)`);
    await q.query(`CREATE UNIQUE INDEX backup_record_backup ON backup_record (instance_id, backup_id)`);
    await q.query(`CREATE UNIQUE INDEX backup_record_key ON backup_record (instance_id, idempotency_key) WHERE idempotency_key IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE instance DROP COLUMN IF EXISTS options`);
    for (const t of ['backup_record', 'schedule_run', 'schedule', 'activity_event', 'api_key', 'subuser']) await q.query(`DROP TABLE IF EXISTS ${t}`);
  }
}
