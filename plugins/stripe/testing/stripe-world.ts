import { randomBytes } from 'node:crypto';

/** Objects as the Stripe API answers them (the fields zpack and the SDK read). */
export type StripeObject = Record<string, unknown> & { id: string; object: string; created: number };

export interface SimulatedEvent extends StripeObject {
  object: 'event';
  type: string;
  data: { object: StripeObject };
}

/** A failure answered in Stripe's `{error: {type, code, message}}` envelope. */
export class StripeFailure extends Error {
  constructor(readonly status: number, readonly type: string, message: string, readonly code?: string, readonly param?: string) {
    super(message);
  }
}

const missing = (what: string, id: string, param = 'id') =>
  new StripeFailure(404, 'invalid_request_error', `No such ${what}: '${id}'`, 'resource_missing', param);

export const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;

/**
 * Customers, checkout sessions, subscriptions, invoices and events of one simulated Stripe
 * account, in memory. Every change that Stripe announces records an event, in order.
 */
export class StripeWorld {
  readonly customers = new Map<string, StripeObject>();
  readonly sessions = new Map<string, StripeObject>();
  readonly subscriptions = new Map<string, StripeObject>();
  readonly invoices = new Map<string, StripeObject>();
  readonly endpoints = new Map<string, StripeObject>();
  readonly events: SimulatedEvent[] = [];
  /** Listeners told of each new event (the simulator delivers it). */
  onEvent: (event: SimulatedEvent) => void = () => undefined;

  constructor(private readonly now: () => number, private readonly pagesBase: () => string) {}

  get<T extends StripeObject>(map: Map<string, StripeObject>, what: string, id: string): T {
    const found = map.get(id);
    if (!found) throw missing(what, id);
    return found as T;
  }

  createCustomer(body: Record<string, unknown>): StripeObject {
    const customer = { id: newId('cus'), object: 'customer', created: this.now(), email: body.email ?? null, name: body.name ?? null, metadata: body.metadata ?? {} };
    this.customers.set(customer.id, customer);
    this.emit('customer.created', customer);
    return customer;
  }

  createCheckoutSession(body: Record<string, unknown>): StripeObject {
    const customer = body.customer as string | undefined;
    if (customer) this.get(this.customers, 'customer', customer);
    const items = (body.line_items ?? []) as Array<{ price?: string }>;
    if (body.mode !== 'subscription' || !items[0]?.price) {
      throw new StripeFailure(400, 'invalid_request_error', 'mode=subscription with one line_items[0][price] is required', 'parameter_missing', 'line_items');
    }
    const id = newId('cs_test');
    const session = {
      id, object: 'checkout.session', created: this.now(), mode: 'subscription', status: 'open', payment_status: 'unpaid',
      customer: customer ?? null, client_reference_id: body.client_reference_id ?? null, metadata: body.metadata ?? {},
      success_url: body.success_url ?? null, cancel_url: body.cancel_url ?? null, subscription: null,
      url: `${this.pagesBase()}/checkout/${id}`, price: items[0].price,
    };
    this.sessions.set(id, session);
    return session;
  }

  createPortalSession(body: Record<string, unknown>): StripeObject {
    const customer = String(body.customer ?? '');
    this.get(this.customers, 'customer', customer);
    const id = newId('bps');
    return { id, object: 'billing_portal.session', created: this.now(), customer, return_url: body.return_url ?? null, url: `${this.pagesBase()}/portal/${id}?customer=${customer}` };
  }

  createEndpoint(body: Record<string, unknown>): StripeObject {
    const endpoint = {
      id: newId('we'), object: 'webhook_endpoint', created: this.now(), url: body.url, enabled_events: body.enabled_events ?? ['*'],
      status: 'enabled', secret: `whsec_${randomBytes(16).toString('hex')}`,
    };
    this.endpoints.set(endpoint.id, endpoint);
    return endpoint;
  }

  /** The customer pays (a subscription starts, its first invoice paid) or the card is declined (nothing changes). */
  completeCheckout(sessionId: string, outcome: 'paid' | 'declined'): StripeObject | null {
    const session = this.get(this.sessions, 'checkout session', sessionId);
    if (session.status !== 'open') throw new StripeFailure(400, 'invalid_request_error', `Checkout session ${sessionId} is ${session.status}`);
    if (outcome === 'declined') return null;
    const customer = (session.customer as string | null) ?? this.createCustomer({}).id;
    const subscription = this.createSubscription(customer, String(session.price), session.metadata as Record<string, unknown>);
    Object.assign(session, { status: 'complete', payment_status: 'paid', customer, subscription: subscription.id });
    this.emit('checkout.session.completed', session);
    this.emit('customer.subscription.created', subscription);
    this.invoice(subscription, 'paid');
    return subscription;
  }

  createSubscription(customer: string, price: string, metadata: Record<string, unknown> = {}, status = 'active'): StripeObject {
    this.get(this.customers, 'customer', customer);
    const id = newId('sub');
    const periodEnd = this.now() + 30 * 86_400;
    const subscription = {
      id, object: 'subscription', created: this.now(), customer, status, metadata, cancel_at_period_end: false, latest_invoice: null,
      items: { object: 'list', has_more: false, data: [{ id: newId('si'), object: 'subscription_item', price: { id: price, object: 'price' }, current_period_end: periodEnd }] },
    };
    this.subscriptions.set(id, subscription);
    return subscription;
  }

  /** A renewal: its invoice paid (the subscription active again) or failed (past_due). */
  renew(subscriptionId: string, outcome: 'paid' | 'failed'): StripeObject {
    const subscription = this.get(this.subscriptions, 'subscription', subscriptionId);
    const invoice = this.invoice(subscription, outcome);
    this.setStatus(subscription, outcome === 'paid' ? 'active' : 'past_due');
    return invoice;
  }

  /** Pays every open invoice of the subscription; it is active again. */
  payOpenInvoices(subscriptionId: string): StripeObject[] {
    const subscription = this.get(this.subscriptions, 'subscription', subscriptionId);
    const open = [...this.invoices.values()].filter((i) => subscriptionOf(i) === subscriptionId && i.status === 'open');
    for (const invoice of open) {
      Object.assign(invoice, { status: 'paid', amount_paid: invoice.amount_due, amount_remaining: 0 });
      this.emit('invoice.paid', invoice);
    }
    this.setStatus(subscription, 'active');
    return open;
  }

  cancel(subscriptionId: string): StripeObject {
    const subscription = this.get(this.subscriptions, 'subscription', subscriptionId);
    subscription.status = 'canceled';
    this.emit('customer.subscription.deleted', subscription);
    return subscription;
  }

  /** Records an event with a snapshot of `object`, as Stripe does. */
  emit(type: string, object: StripeObject): SimulatedEvent {
    const event: SimulatedEvent = {
      id: newId('evt'), object: 'event', api_version: '2026-10-28.endive', created: this.now(), type, livemode: false, pending_webhooks: 1,
      request: { id: null, idempotency_key: null }, data: { object: structuredClone(object) },
    };
    this.events.push(event);
    this.onEvent(event);
    return event;
  }

  private invoice(subscription: StripeObject, outcome: 'paid' | 'failed'): StripeObject {
    const amount = 1000;
    const invoice = {
      id: newId('in'), object: 'invoice', created: this.now(), customer: subscription.customer, currency: 'usd',
      number: `SIM-${String(this.invoices.size + 1).padStart(4, '0')}`, status: outcome === 'paid' ? 'paid' : 'open',
      amount_due: amount, amount_paid: outcome === 'paid' ? amount : 0, amount_remaining: outcome === 'paid' ? 0 : amount,
      attempt_count: 1, hosted_invoice_url: `${this.pagesBase()}/invoice/${subscription.id}`,
      parent: { type: 'subscription_details', subscription_details: { subscription: subscription.id } },
    };
    this.invoices.set(invoice.id, invoice);
    subscription.latest_invoice = invoice.id;
    this.emit(outcome === 'paid' ? 'invoice.paid' : 'invoice.payment_failed', invoice);
    return invoice;
  }

  private setStatus(subscription: StripeObject, status: string): void {
    if (subscription.status === status) return;
    subscription.status = status;
    this.emit('customer.subscription.updated', subscription);
  }
}

/** The subscription an invoice bills (API versions since 2025 keep it under parent). */
export function subscriptionOf(invoice: Record<string, any>): string | null {
  return invoice.parent?.subscription_details?.subscription ?? invoice.subscription ?? null;
}
