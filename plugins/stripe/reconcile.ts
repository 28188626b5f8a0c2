import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { Clock } from '../../kernel/api';
import type { StripeClient } from './client/stripe-client';
import type { StripeConfig } from './config';
import type { Enforcement } from './enforcement';
import { HANDLED_EVENTS, type StripeEvents } from './events';
import type { BillingStore } from './store';

/** Events created within this many seconds of the last pass are read again: Stripe's clock and ours differ. */
const OVERLAP_SECONDS = 300;

export interface ReconcileDeps {
  ds: DataSource;
  config: StripeConfig;
  store: BillingStore;
  events: StripeEvents;
  enforcement: Enforcement;
  client: () => StripeClient;
  clock: () => Clock;
  effects(accountId: string): Promise<void>;
  logger: Logger;
}

export interface ReconcileReport {
  events: number;
  applied: number;
  accounts: number;
  transitions: number;
}

/**
 * Webhooks can be missed (the API is not always reachable from the internet): the billing
 * worker reads Stripe itself on a schedule. Recent events go through the same once-only ingest
 * as webhooks, so a missed one is applied late, once; then each subscribed account's current
 * subscription is applied, which catches anything events never said.
 */
export class Reconciliation {
  constructor(private readonly d: ReconcileDeps) {}

  async run(): Promise<ReconcileReport> {
    const report: ReconcileReport = { events: 0, applied: 0, accounts: 0, transitions: 0 };
    const now = Math.floor(this.d.clock().now().getTime() / 1000);
    const [cursor] = await this.d.ds.query(`SELECT events_since FROM stripe_reconcile_cursor WHERE id = 1`);
    const since = cursor ? Number(cursor.events_since) - OVERLAP_SECONDS : now - this.d.config.reconcileLookbackSeconds;
    const events = await this.d.client().eventsSince(since, HANDLED_EVENTS);
    let newest = cursor ? Number(cursor.events_since) : since;
    for (const event of events) {
      report.events += 1;
      const outcome = await this.d.events.ingest(event as any, 'reconcile');
      if (!outcome.duplicate) report.applied += 1;
      newest = Math.max(newest, event.created);
    }
    await this.d.ds.query(`INSERT INTO stripe_reconcile_cursor (id, events_since) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET events_since = GREATEST(stripe_reconcile_cursor.events_since, $1)`, [newest]);

    for (const accountId of await this.d.store.subscribedAccounts()) {
      report.accounts += 1;
      const row = await this.d.store.row(accountId);
      if (!row?.subscriptionId) continue;
      const sub = await this.d.client().subscription(row.subscriptionId);
      const entered = await this.d.ds.transaction(async (m) => this.d.enforcement.applySubscription(m, await this.d.store.lock(m, accountId), sub, 'reconcile'));
      if (entered) {
        report.transitions += 1;
        await this.d.effects(accountId);
      }
    }
    if (report.applied || report.transitions) this.d.logger.info(report, 'stripe reconciliation applied changes');
    return report;
  }
}
