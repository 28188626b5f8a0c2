import type { DataSource, EntityManager } from 'typeorm';
import type { AccountView, EnforcementState } from '../../kernel/api';

/** What a customer is told in the portal about their billing (kept here until an announcements store exists). */
export interface BillingAnnouncement {
  severity: 'warning' | 'critical' | 'info';
  title: string;
  message: string;
  at: string;
}

/** One account's billing row. */
export interface BillingRow {
  accountId: string;
  customerId: string | null;
  subscriptionId: string | null;
  subscriptionStatus: string | null;
  plan: string | null;
  state: EnforcementState;
  stateSince: Date;
  nextStepAt: Date | null;
  suspendedInstances: string[];
  effectsPending: EnforcementState | null;
  notifiedState: EnforcementState | null;
  announcement: BillingAnnouncement | null;
}

const COLUMNS = `account_id AS "accountId", customer_id AS "customerId", subscription_id AS "subscriptionId",
  subscription_status AS "subscriptionStatus", plan, state, state_since AS "stateSince", next_step_at AS "nextStepAt",
  suspended_instances AS "suspendedInstances", effects_pending AS "effectsPending", notified_state AS "notifiedState", announcement`;

type Db = DataSource | EntityManager;

/** The plugin's tables, in SQL: billing_account, billing_enforcement_event, stripe_event_log. */
export class BillingStore {
  constructor(private readonly ds: DataSource) {}

  async row(accountId: string, db: Db = this.ds): Promise<BillingRow | null> {
    return (await db.query(`SELECT ${COLUMNS} FROM billing_account WHERE account_id = $1`, [accountId]))[0] ?? null;
  }

  /** The row, created (active, no customer) the first time, locked to the end of the transaction. */
  async lock(m: EntityManager, accountId: string): Promise<BillingRow> {
    await m.query(`INSERT INTO billing_account (account_id) VALUES ($1) ON CONFLICT DO NOTHING`, [accountId]);
    return (await m.query(`SELECT ${COLUMNS} FROM billing_account WHERE account_id = $1 FOR UPDATE`, [accountId]))[0];
  }

  async lockByCustomer(m: EntityManager, customerId: string): Promise<BillingRow | null> {
    return (await m.query(`SELECT ${COLUMNS} FROM billing_account WHERE customer_id = $1 FOR UPDATE`, [customerId]))[0] ?? null;
  }

  /** Stores the customer unless one is stored already; answers the one that is. */
  async attachCustomer(accountId: string, customerId: string): Promise<string> {
    await this.ds.query(`INSERT INTO billing_account (account_id) VALUES ($1) ON CONFLICT DO NOTHING`, [accountId]);
    await this.ds.query(`UPDATE billing_account SET customer_id = $2, updated_at = now() WHERE account_id = $1 AND customer_id IS NULL`, [accountId, customerId]);
    return (await this.row(accountId))!.customerId!;
  }

  async account(accountId: string, db: Db = this.ds): Promise<AccountView | null> {
    const [a] = await db.query(`SELECT id, email, role, billing_exempt AS "billingExempt" FROM account WHERE id = $1`, [accountId]);
    return a ?? null;
  }

  /** Records the event id once; false when it was recorded before (also by a concurrent delivery, once that one commits). */
  async recordEvent(m: EntityManager, e: { id: string; type: string; created: number }, source: 'webhook' | 'reconcile'): Promise<boolean> {
    const inserted = await m.query(
      `INSERT INTO stripe_event_log (event_id, type, stripe_created_at, source, outcome) VALUES ($1, $2, to_timestamp($3), $4, 'received')
       ON CONFLICT (event_id) DO NOTHING RETURNING event_id`, [e.id, e.type, e.created, source]);
    return inserted.length === 1;
  }

  async settleEvent(m: EntityManager, eventId: string, accountId: string | null, outcome: string): Promise<void> {
    await m.query(`UPDATE stripe_event_log SET account_id = $2, outcome = $3 WHERE event_id = $1`, [eventId, accountId, outcome]);
  }

  async eventSeen(eventId: string): Promise<boolean> {
    return (await this.ds.query(`SELECT 1 FROM stripe_event_log WHERE event_id = $1`, [eventId])).length > 0;
  }

  async dueAccounts(now: Date): Promise<string[]> {
    return (await this.ds.query(`SELECT account_id FROM billing_account WHERE next_step_at <= $1 ORDER BY next_step_at LIMIT 500`, [now])).map((r: any) => r.account_id);
  }

  /** Accounts held in a restrictive state although they are now exempt or admins: the schedule releases them. */
  async exemptButEnforced(): Promise<string[]> {
    return (await this.ds.query(`SELECT b.account_id FROM billing_account b JOIN account a ON a.id = b.account_id
      WHERE b.state <> 'active' AND (a.billing_exempt OR a.role = 'admin') LIMIT 500`)).map((r: any) => r.account_id);
  }

  async pendingEffects(): Promise<string[]> {
    return (await this.ds.query(`SELECT account_id FROM billing_account WHERE effects_pending IS NOT NULL LIMIT 500`)).map((r: any) => r.account_id);
  }

  /** Accounts with a subscription to check against Stripe. */
  async subscribedAccounts(): Promise<string[]> {
    return (await this.ds.query(`SELECT account_id FROM billing_account WHERE subscription_id IS NOT NULL AND subscription_status NOT IN ('canceled', 'incomplete_expired')`))
      .map((r: any) => r.account_id);
  }
}
