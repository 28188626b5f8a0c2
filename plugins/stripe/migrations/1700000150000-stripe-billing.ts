import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Billing per account (customer, subscription, enforcement state), the append-only log of
 * enforcement transitions, and the Stripe events seen (each id once).
 */
export class StripeBilling1700000150000 implements MigrationInterface {
  name = 'StripeBilling1700000150000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE billing_account (
      account_id uuid PRIMARY KEY REFERENCES account(id) ON DELETE CASCADE,
      customer_id text UNIQUE,
      subscription_id text,
      subscription_status text,
      plan text,
      state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'warning', 'final_warning', 'suspended')),
      state_since timestamptz NOT NULL DEFAULT now(),
      next_step_at timestamptz,
      -- The servers that were running when the account was suspended: exactly these start again on restore.
      suspended_instances jsonb NOT NULL DEFAULT '[]',
      -- The state whose effects (servers, hooks, email) are not all done yet; the billing worker retries them.
      effects_pending text,
      notified_state text,
      announcement jsonb,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE INDEX billing_account_due ON billing_account (next_step_at) WHERE next_step_at IS NOT NULL`);
    await q.query(`CREATE INDEX billing_account_effects ON billing_account (account_id) WHERE effects_pending IS NOT NULL`);
    await q.query(`CREATE TABLE billing_enforcement_event (
      id bigserial PRIMARY KEY,
      account_id uuid NOT NULL,
      from_state text NOT NULL,
      to_state text NOT NULL,
      reason text NOT NULL,
      stripe_event_id text,
      at timestamptz NOT NULL,
      detail jsonb NOT NULL DEFAULT '{}'
    )`);
    await q.query(`CREATE INDEX billing_enforcement_event_account ON billing_enforcement_event (account_id, id)`);
    await q.query(`CREATE FUNCTION billing_enforcement_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'billing_enforcement_event is append-only'; END $$`);
    await q.query(`CREATE TRIGGER billing_enforcement_event_append_only BEFORE UPDATE OR DELETE ON billing_enforcement_event
      FOR EACH ROW EXECUTE FUNCTION billing_enforcement_event_append_only()`);
    await q.query(`CREATE TABLE stripe_event_log (
      event_id text PRIMARY KEY,
      type text NOT NULL,
      account_id uuid,
      stripe_created_at timestamptz NOT NULL,
      received_at timestamptz NOT NULL DEFAULT now(),
      source text NOT NULL CHECK (source IN ('webhook', 'reconcile')),
      outcome text NOT NULL
    )`);
    await q.query(`CREATE TABLE stripe_reconcile_cursor (id smallint PRIMARY KEY CHECK (id = 1), events_since bigint NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE stripe_reconcile_cursor, stripe_event_log, billing_enforcement_event, billing_account`);
    await q.query(`DROP FUNCTION billing_enforcement_event_append_only()`);
  }
}
