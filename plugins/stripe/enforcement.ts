import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from 'pino';
import type { AccountView, Announcements, Clock, EnforcementState, InstanceDirectory, InstancePower, KernelHooks, Notifications } from '../../kernel/api';
import type { SubscriptionFacts } from './client/stripe-client';
import { FAILING, PAYING, type StripeConfig } from './config';
import { announcementFor, messageFor } from './messages';
import type { BillingRow, BillingStore } from './store';

const DAY_MS = 86_400_000;
/** The step after each restrictive state, taken by the schedule once its time has come. */
const NEXT: Partial<Record<EnforcementState, EnforcementState>> = { warning: 'final_warning', final_warning: 'suspended' };

export interface EnforcementDeps {
  ds: DataSource;
  config: StripeConfig;
  store: BillingStore;
  clock: () => Clock;
  hooks: KernelHooks;
  power: () => InstancePower;
  instances: () => InstanceDirectory;
  notifications: () => Notifications;
  /** The announcements store (the support plugin), when one is enabled: the billing notice shows there too. */
  announcements: () => Announcements | undefined;
  logger: Logger;
}

const enforced = (a: AccountView) => a.role !== 'admin' && !a.billingExempt;

/**
 * The durable state machine: active → warning → final_warning → suspended → active. A
 * transition is one row update and one appended event, in the caller's transaction; what it
 * sets off (servers stopped or started, hooks, email) runs after, is idempotent, and is retried
 * by the schedule until done. Nothing here deletes anything.
 */
export class Enforcement {
  constructor(private readonly d: EnforcementDeps) {}

  planOf(priceId: string | null): string | null {
    return Object.entries(this.d.config.plans).find(([, p]) => p.priceId === priceId)?.[0] ?? null;
  }

  /**
   * Applies a subscription as Stripe holds it now (never as an event said it once was), in a
   * transaction holding the account's row. Answers the state entered, when it changed.
   */
  async applySubscription(m: EntityManager, row: BillingRow, sub: SubscriptionFacts, reason: string, stripeEventId?: string): Promise<EnforcementState | null> {
    // A late event about an older subscription does not replace the current one.
    if (row.subscriptionId && row.subscriptionId !== sub.id && !PAYING.has(sub.status) && !FAILING.has(sub.status)) return null;
    const plan = PAYING.has(sub.status) || FAILING.has(sub.status) ? this.planOf(sub.priceId) : null;
    await m.query(`UPDATE billing_account SET subscription_id = $2, subscription_status = $3, plan = $4, updated_at = now() WHERE account_id = $1`,
      [row.accountId, sub.id, sub.status, plan]);
    const account = await this.d.store.account(row.accountId, m);
    if (!account || !enforced(account)) return null;
    if (FAILING.has(sub.status) && row.state === 'active') return this.transition(m, row, 'warning', reason, stripeEventId);
    if (PAYING.has(sub.status) && row.state !== 'active') return this.transition(m, row, 'active', reason, stripeEventId);
    return null;
  }

  /** Moves the locked row to `to`: state, its time, the next step's time, and one appended event. */
  async transition(m: EntityManager, row: BillingRow, to: EnforcementState, reason: string, stripeEventId?: string): Promise<EnforcementState> {
    const now = this.d.clock().now();
    const days = to === 'warning' ? this.d.config.graceDays : to === 'final_warning' ? this.d.config.finalWarningDays : null;
    const nextStepAt = days === null ? null : new Date(now.getTime() + days * DAY_MS);
    const announcement = announcementFor(to, now, nextStepAt);
    await m.query(
      `UPDATE billing_account SET state = $2, state_since = $3, next_step_at = $4, effects_pending = $2, announcement = $5, updated_at = now() WHERE account_id = $1`,
      [row.accountId, to, now, nextStepAt, announcement && JSON.stringify(announcement)]);
    await m.query(
      `INSERT INTO billing_enforcement_event (account_id, from_state, to_state, reason, stripe_event_id, at, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [row.accountId, row.state, to, reason, stripeEventId ?? null, now, JSON.stringify({ nextStepAt })]);
    this.d.logger.info({ accountId: row.accountId, from: row.state, to, reason, stripeEventId }, 'billing enforcement transition');
    Object.assign(row, { state: to, stateSince: now, nextStepAt, effectsPending: to });
    return to;
  }

  /** The schedule's step: every account whose next step is due takes it, then its effects run. */
  async advanceDue(): Promise<number> {
    let moved = 0;
    // An account made exempt (or admin) while overdue or suspended is released, its servers started again.
    for (const accountId of await this.d.store.exemptButEnforced()) {
      await this.d.ds.transaction(async (m) => {
        const row = await this.d.store.lock(m, accountId);
        if (row.state !== 'active') await this.transition(m, row, 'active', 'exempt');
      });
      moved += 1;
    }
    for (const accountId of await this.d.store.dueAccounts(this.d.clock().now())) {
      const stepped = await this.d.ds.transaction(async (m) => {
        const row = await this.d.store.lock(m, accountId);
        const next = NEXT[row.state];
        if (!next || !row.nextStepAt || row.nextStepAt > this.d.clock().now()) return false;
        const account = await this.d.store.account(accountId, m);
        // An account made exempt while overdue is released instead of suspended.
        await this.transition(m, row, account && enforced(account) ? next : 'active', account && enforced(account) ? 'schedule' : 'exempt');
        return true;
      });
      if (stepped) moved += 1;
    }
    for (const accountId of await this.d.store.pendingEffects()) await this.runEffects(accountId).catch((err) =>
      this.d.logger.warn({ err, accountId }, 'billing effects failed; retried on the next pass'));
    return moved;
  }

  /**
   * What the current state sets off, once: on suspension the running servers are recorded, then
   * stopped through the agent; on restore exactly those start again. One process at a time per
   * account (an advisory lock); a failure leaves the effects pending for the next pass.
   */
  async runEffects(accountId: string): Promise<void> {
    const lock = this.d.ds.createQueryRunner();
    await lock.connect();
    try {
      const [{ locked }] = await lock.query(`SELECT pg_try_advisory_lock(hashtext($1)) AS locked`, [`zpack.billing-effects:${accountId}`]);
      if (!locked) return;
      try {
        await this.effects(accountId);
      } finally {
        await lock.query(`SELECT pg_advisory_unlock(hashtext($1))`, [`zpack.billing-effects:${accountId}`]);
      }
    } finally {
      await lock.release();
    }
  }

  private async effects(accountId: string): Promise<void> {
    const row = await this.d.store.row(accountId);
    const account = await this.d.store.account(accountId);
    if (!row?.effectsPending || !account) return;
    const state = row.effectsPending;
    if (state === 'suspended') await this.suspend(account, row);
    else if (state === 'active') await this.restore(account, row);
    else await this.d.hooks.onBillingSuspend.promise(account, state);
    await this.notify(account, row, state);
    await this.announce(account.id, state);
    await this.d.ds.query(`UPDATE billing_account SET effects_pending = NULL WHERE account_id = $1 AND effects_pending = $2`, [accountId, state]);
  }

  /** One announcement per account, keyed by it: updated at each step, expired once paid. */
  private async announce(accountId: string, state: EnforcementState): Promise<void> {
    const board = this.d.announcements();
    if (!board) return;
    const key = `billing:${accountId}`;
    const row = await this.d.store.row(accountId);
    const notice = row && announcementFor(state, this.d.clock().now(), row.nextStepAt);
    if (!notice) return board.expire(key);
    await board.post({ key, audience: { scope: 'account', accountId }, severity: notice.severity, title: notice.title, message: notice.message });
  }

  private async suspend(account: AccountView, row: BillingRow): Promise<void> {
    const running = (await this.d.instances().list({ ownerId: account.id, states: ['running'] })).map((i) => i.id);
    // Recorded before anything stops: a pass that fails half-way still knows what ran.
    const remembered = [...new Set([...row.suspendedInstances, ...running])];
    await this.d.ds.query(`UPDATE billing_account SET suspended_instances = $2 WHERE account_id = $1 AND effects_pending = 'suspended'`,
      [account.id, JSON.stringify(remembered)]);
    await this.d.hooks.onBillingSuspend.promise(account, 'suspended');
    for (const id of running) await this.d.power().apply(id, 'stop');
  }

  private async restore(account: AccountView, row: BillingRow): Promise<void> {
    for (const id of row.suspendedInstances) {
      const instance = await this.d.instances().get(id);
      if (instance && instance.state === 'stopped') await this.d.power().apply(id, 'start');
    }
    await this.d.ds.query(`UPDATE billing_account SET suspended_instances = '[]' WHERE account_id = $1 AND effects_pending = 'active'`, [account.id]);
    await this.d.hooks.onBillingRestore.promise(account, 'active');
  }

  /** One email per state entered; a restore is announced only to someone who was warned. */
  private async notify(account: AccountView, row: BillingRow, state: EnforcementState): Promise<void> {
    if (row.notifiedState === state || (state === 'active' && row.notifiedState === null)) return;
    const message = messageFor(state, account.email, row);
    if (message) await this.d.notifications().sendToOwner(message);
    await this.d.ds.query(`UPDATE billing_account SET notified_state = $2 WHERE account_id = $1`, [account.id, state]);
  }
}
