import type { MigrationInterface, QueryRunner } from 'typeorm';

export class KernelCrashes1700000003000 implements MigrationInterface {
  name = 'KernelCrashes1700000003000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE crash_report (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      instance_id uuid NOT NULL REFERENCES instance(id),
      at timestamptz NOT NULL,
      exit_code int NULL,
      signal text NULL,
      uptime_seconds int NOT NULL,
      log_tail jsonb NOT NULL DEFAULT '[]',
      classification text NOT NULL,
      supervisor_action text NOT NULL,
      restart_at timestamptz NULL,
      created_at timestamptz NOT NULL DEFAULT now())`);
    // An agent that re-sends the same crash event (same instant) must not schedule a second restart.
    await q.query(`CREATE UNIQUE INDEX crash_report_instance_at_uq ON crash_report (instance_id, at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS crash_report`);
  }
}
