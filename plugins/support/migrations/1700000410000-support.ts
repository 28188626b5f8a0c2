import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Tickets with their threads and a per-day counter, notepads, announcements and who dismissed them. */
export class Support1700000410000 implements MigrationInterface {
  name = 'Support1700000410000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE support_ticket_counter (day text PRIMARY KEY, last int NOT NULL)`);
    await q.query(`CREATE TABLE support_ticket (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      number text NOT NULL UNIQUE,
      account_id uuid NOT NULL,
      email text NOT NULL,
      subject text NOT NULL,
      category text NOT NULL,
      status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'closed')),
      assignee_id uuid NULL,
      server_id uuid NULL,
      snapshot jsonb NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE INDEX support_ticket_account_idx ON support_ticket (account_id, created_at)`);
    await q.query(`CREATE TABLE support_ticket_message (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      ticket_id uuid NOT NULL REFERENCES support_ticket(id) ON DELETE CASCADE,
      author_id uuid NOT NULL,
      author_role text NOT NULL CHECK (author_role IN ('customer', 'staff')),
      body text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE INDEX support_ticket_message_ticket_idx ON support_ticket_message (ticket_id, created_at)`);
    await q.query(`CREATE TABLE support_note (
      account_id uuid PRIMARY KEY,
      content text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE TABLE support_announcement (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      key text NULL UNIQUE,
      scope text NOT NULL CHECK (scope IN ('global', 'account', 'server')),
      account_id uuid NULL,
      server_id uuid NULL,
      severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
      title text NOT NULL,
      message text NOT NULL,
      starts_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NULL,
      created_by uuid NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE INDEX support_announcement_account_idx ON support_announcement (account_id)`);
    await q.query(`CREATE TABLE support_announcement_dismissal (
      announcement_id uuid NOT NULL REFERENCES support_announcement(id) ON DELETE CASCADE,
      account_id uuid NOT NULL,
      dismissed_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (announcement_id, account_id))`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['support_announcement_dismissal', 'support_announcement', 'support_note', 'support_ticket_message', 'support_ticket', 'support_ticket_counter']) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
