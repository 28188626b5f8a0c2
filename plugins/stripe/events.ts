import Stripe from 'stripe';
import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { InvalidRequestError } from '../../kernel/api';
import type { Clock, Notifications } from '../../kernel/api';
import type { StripeClient } from './client/stripe-client';
import type { Enforcement } from './enforcement';
import { receiptFor } from './messages';
import type { BillingStore } from './store';

/** The Stripe events that change billing; any other type is acknowledged and ignored. */
export const HANDLED_EVENTS = [
  'checkout.session.completed', 'customer.subscription.created', 'customer.subscription.updated', 'customer.subscription.deleted',
  'invoice.paid', 'invoice.payment_failed',
];
/** Stripe's own default: a signature older than five minutes is refused. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export interface EventOutcome {
  duplicate: boolean;
  outcome: string;
}

export interface StripeEventsDeps {
  ds: DataSource;
  store: BillingStore;
  enforcement: Enforcement;
  client: () => StripeClient;
  webhookSecret: () => string;
  clock: () => Clock;
  notifications: () => Notifications;
  /** Runs (or queues) the effects of a transition after its commit. */
  effects(accountId: string): Promise<void>;
  logger: Logger;
}

type Obj = Record<string, any>;

/**
 * Every Stripe event, from a webhook or a reconciliation, goes through `ingest`: recorded once by
 * id (a replay is acknowledged and changes nothing), in the same transaction as its effect on
 * the account, which reads the subscription as Stripe holds it now, so order does not matter.
 */
export class StripeEvents {
  constructor(private readonly d: StripeEventsDeps) {}

  /** The SDK's constructEvent on the raw bytes: a missing, forged or stale signature is 400. */
  verify(raw: Buffer, signature: string | undefined): Stripe.Event {
    if (!signature) throw new InvalidRequestError('Stripe-Signature header is required');
    try {
      // Our clock, in milliseconds as the SDK takes it, so a test clock ages signatures too.
      const receivedAt = this.d.clock().now().getTime();
      return Stripe.webhooks.constructEvent(raw, signature, this.d.webhookSecret(), SIGNATURE_TOLERANCE_SECONDS, undefined, receivedAt);
    } catch (err) {
      throw new InvalidRequestError(`Stripe signature refused: ${(err as Error).message}`);
    }
  }

  async ingest(event: Pick<Stripe.Event, 'id' | 'type' | 'created'> & { data: { object: Obj } }, source: 'webhook' | 'reconcile'): Promise<EventOutcome> {
    if (await this.d.store.eventSeen(event.id)) return { duplicate: true, outcome: 'duplicate' };
    const object = event.data.object;
    const handled = HANDLED_EVENTS.includes(event.type);
    const result = await this.d.ds.transaction(async (m) => {
      if (!(await this.d.store.recordEvent(m, event, source))) return { duplicate: true, outcome: 'duplicate', accountId: null, changed: false };
      if (!handled) {
        await this.d.store.settleEvent(m, event.id, null, 'ignored');
        return { duplicate: false, outcome: 'ignored', accountId: null, changed: false };
      }
      const customer = customerOf(object);
      const row = customer ? await this.d.store.lockByCustomer(m, customer) : null;
      if (!row) {
        this.d.logger.warn({ eventId: event.id, type: event.type, customer }, 'stripe event for an unknown customer; acknowledged, nothing changed');
        await this.d.store.settleEvent(m, event.id, null, 'unknown_customer');
        return { duplicate: false, outcome: 'unknown_customer', accountId: null, changed: false };
      }
      const subscriptionId = subscriptionIdOf(object) ?? row.subscriptionId;
      const sub = subscriptionId ? await this.d.client().subscription(subscriptionId) : null;
      const entered = sub ? await this.d.enforcement.applySubscription(m, row, sub, event.type, event.id) : null;
      await this.d.store.settleEvent(m, event.id, row.accountId, entered ? `entered_${entered}` : 'applied');
      return { duplicate: false, outcome: entered ? `entered_${entered}` : 'applied', accountId: row.accountId, changed: !!entered };
    });
    if (result.accountId && result.changed) await this.d.effects(result.accountId);
    if (result.accountId && !result.duplicate && event.type === 'invoice.paid') {
      const account = await this.d.store.account(result.accountId);
      if (account) await this.d.notifications().sendToOwner(receiptFor(account.email, object as any));
    }
    return { duplicate: result.duplicate, outcome: result.outcome };
  }
}

function customerOf(object: Obj): string | null {
  if (object.object === 'customer') return object.id;
  const c = object.customer;
  return typeof c === 'string' ? c : c?.id ?? null;
}

function subscriptionIdOf(object: Obj): string | null {
  if (object.object === 'subscription') return object.id;
  const s = object.subscription ?? object.parent?.subscription_details?.subscription;
  return typeof s === 'string' ? s : s?.id ?? null;
}
