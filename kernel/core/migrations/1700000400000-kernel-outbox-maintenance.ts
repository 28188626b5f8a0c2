import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outbox delivers on its own schedule (next attempt, a claim while sending, the HTML a
 * template rendered); customers' notification preferences; operators' maintenance windows.
 */
export class KernelOutboxMaintenance1700000400000 implements MigrationInterface {
  name = 'KernelOutboxMaintenance1700000400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE notification
      ADD COLUMN html text NULL,
      ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now(),
      ADD COLUMN lease_until timestamptz NULL,
      ADD COLUMN sent_at timestamptz NULL`);
    await q.query(`CREATE INDEX notification_due_idx ON notification (next_attempt_at) WHERE state IN ('pending', 'sending')`);
    await q.query(`CREATE INDEX notification_list_idx ON notification (created_at, id)`);
    await q.query(`CREATE TABLE notification_preference (
      account_id uuid NOT NULL REFERENCES account(id) ON DELETE CASCADE,
      template text NOT NULL,
      enabled boolean NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (account_id, template))`);
    await q.query(`CREATE TABLE maintenance_window (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      node text NULL,
      starts_at timestamptz NOT NULL,
      ends_at timestamptz NOT NULL CHECK (ends_at > starts_at),
      message text NOT NULL,
      created_by uuid NULL,
      scheduled_notice_at timestamptz NULL,
      starting_notice_at timestamptz NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE INDEX maintenance_window_span_idx ON maintenance_window (ends_at, starts_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS maintenance_window`);
    await q.query(`DROP TABLE IF EXISTS notification_preference`);
    await q.query(`DROP INDEX IF EXISTS notification_list_idx`);
    await q.query(`DROP INDEX IF EXISTS notification_due_idx`);
    await q.query(`ALTER TABLE notification DROP COLUMN html, DROP COLUMN next_attempt_at, DROP COLUMN lease_until, DROP COLUMN sent_at`);
  }
}
