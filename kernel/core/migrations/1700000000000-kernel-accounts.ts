import type { MigrationInterface, QueryRunner } from 'typeorm';

export class KernelAccounts1700000000000 implements MigrationInterface {
  name = 'KernelAccounts1700000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE account (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      email text NOT NULL,
      password_hash text NOT NULL,
      role text NOT NULL DEFAULT 'user' CHECK (role IN ('user','admin')),
      billing_exempt boolean NOT NULL DEFAULT false,
      max_instances int NULL CHECK (max_instances >= 0),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE UNIQUE INDEX account_email_uq ON account (email)`);
    await q.query(`CREATE TABLE session (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      account_id uuid NOT NULL REFERENCES account(id) ON DELETE CASCADE,
      refresh_hash text NOT NULL,
      generation int NOT NULL DEFAULT 0,
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz NULL,
      revoked_reason text NULL,
      created_from text NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE INDEX session_account_idx ON session (account_id)`);
    await q.query(`CREATE TABLE password_reset (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      account_id uuid NOT NULL REFERENCES account(id) ON DELETE CASCADE,
      token_hash text NOT NULL,
      expires_at timestamptz NOT NULL,
      used_at timestamptz NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE UNIQUE INDEX password_reset_token_uq ON password_reset (token_hash)`);
    await q.query(`CREATE TABLE audit_event (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      actor_id uuid NULL,
      action text NOT NULL,
      target text NULL,
      detail jsonb NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE INDEX audit_event_actor_idx ON audit_event (actor_id)`);
    await q.query(`CREATE TABLE notification (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      channel text NOT NULL,
      recipient text NOT NULL,
      template text NOT NULL,
      subject text NOT NULL,
      body text NOT NULL,
      data jsonb NOT NULL DEFAULT '{}',
      state text NOT NULL DEFAULT 'pending',
      attempts int NOT NULL DEFAULT 0,
      last_error text NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE INDEX notification_recipient_idx ON notification (recipient)`);
    await q.query(`CREATE TABLE setting (key text PRIMARY KEY, value text NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['setting', 'notification', 'audit_event', 'password_reset', 'session', 'account']) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
