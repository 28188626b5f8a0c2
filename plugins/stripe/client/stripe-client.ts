import Stripe from 'stripe';
import { ProviderError, UnavailableError } from '../../../kernel/api';
import type { StripeConfig } from '../config';

/** Stripe is down, overloaded or rate-limiting: nothing was changed on our side; retry after `retryAfterSeconds`. */
export class StripeUnavailableError extends UnavailableError {
  override readonly retryAfterSeconds: number;
  constructor(operation: string, retryAfterSeconds: number, cause?: unknown) {
    super(`Stripe is unavailable (${operation}); retry shortly`, { remote: 'stripe', operation }, 'unavailable', cause);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface SubscriptionFacts {
  id: string;
  customer: string;
  status: string;
  priceId: string | null;
}

export interface InvoiceFacts {
  id: string;
  number: string | null;
  status: string | null;
  amountDue: number;
  amountPaid: number;
  currency: string;
  createdAt: Date;
  hostedInvoiceUrl: string | null;
}

/** The calls zpack makes, through the official SDK, with Stripe's failures turned into ours. */
export class StripeClient {
  readonly sdk: Stripe;

  constructor(config: Pick<StripeConfig, 'secretKey' | 'baseUrl' | 'timeoutMs' | 'maxNetworkRetries'>) {
    const base = new URL(config.baseUrl);
    this.sdk = new Stripe(config.secretKey, {
      host: base.hostname, port: base.port ? Number(base.port) : undefined, protocol: base.protocol === 'http:' ? 'http' : 'https',
      timeout: config.timeoutMs, maxNetworkRetries: config.maxNetworkRetries, telemetry: false,
    });
  }

  /** One customer per account: the idempotency key makes concurrent and retried creates the same customer. */
  async createCustomer(accountId: string, email: string): Promise<string> {
    const customer = await call('create customer', () =>
      this.sdk.customers.create({ email, metadata: { accountId } }, { idempotencyKey: `zpack-customer-${accountId}` }));
    return customer.id;
  }

  async checkoutSession(input: { customer: string; priceId: string; accountId: string; plan: string; returnUrl: string }): Promise<string> {
    const session = await call('create checkout session', () => this.sdk.checkout.sessions.create({
      mode: 'subscription', customer: input.customer, client_reference_id: input.accountId,
      line_items: [{ price: input.priceId, quantity: 1 }], metadata: { accountId: input.accountId, plan: input.plan },
      success_url: `${input.returnUrl}?checkout=success`, cancel_url: `${input.returnUrl}?checkout=cancel`,
    }));
    if (!session.url) throw new ProviderError('stripe', 'create checkout session', 'the session has no url');
    return session.url;
  }

  async portalSession(customer: string, returnUrl: string): Promise<string> {
    return (await call('create portal session', () => this.sdk.billingPortal.sessions.create({ customer, return_url: returnUrl }))).url;
  }

  async subscription(id: string): Promise<SubscriptionFacts> {
    return facts(await call('retrieve subscription', () => this.sdk.subscriptions.retrieve(id)));
  }

  /** The customer's newest subscription that is not canceled, if any. */
  async currentSubscription(customer: string): Promise<SubscriptionFacts | null> {
    const list = await call('list subscriptions', () => this.sdk.subscriptions.list({ customer, limit: 1 }));
    return list.data[0] ? facts(list.data[0]) : null;
  }

  async invoices(customer: string, limit: number, startingAfter?: string): Promise<{ invoices: InvoiceFacts[]; hasMore: boolean }> {
    const page = await call('list invoices', () => this.sdk.invoices.list({ customer, limit, ...(startingAfter ? { starting_after: startingAfter } : {}) }));
    return {
      hasMore: page.has_more,
      invoices: page.data.map((i) => ({
        id: i.id!, number: i.number ?? null, status: i.status ?? null, amountDue: i.amount_due, amountPaid: i.amount_paid, currency: i.currency,
        createdAt: new Date(i.created * 1000), hostedInvoiceUrl: i.hosted_invoice_url ?? null,
      })),
    };
  }

  /** Events created at or after `since` (Unix seconds), oldest first. */
  async eventsSince(since: number, types: string[]): Promise<Stripe.Event[]> {
    const events: Stripe.Event[] = [];
    await call('list events', () => this.sdk.events.list({ created: { gte: since }, types, limit: 100 }).autoPagingEach((e) => {
      events.push(e);
    }));
    return events.reverse();
  }
}

function facts(s: Stripe.Subscription): SubscriptionFacts {
  const customer = typeof s.customer === 'string' ? s.customer : s.customer.id;
  return { id: s.id, customer, status: s.status, priceId: s.items?.data?.[0]?.price?.id ?? null };
}

/** Overload, rate limits and unreachability are 503 with Retry-After; anything else Stripe refuses is a 502 naming it. */
async function call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof Stripe.errors.StripeError)) throw err;
    const status = err.statusCode ?? 0;
    if (err instanceof Stripe.errors.StripeRateLimitError || err instanceof Stripe.errors.StripeConnectionError || status === 0 || status >= 500) {
      const header = Number((err.headers as Record<string, string> | undefined)?.['retry-after']);
      throw new StripeUnavailableError(operation, Number.isFinite(header) && header > 0 ? Math.ceil(header) : 5, err);
    }
    throw new ProviderError('stripe', operation, err.message, { status, type: err.type, code: err.code ?? null }, err);
  }
}
