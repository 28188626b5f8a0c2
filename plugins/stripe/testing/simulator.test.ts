import { expect } from 'chai';
import Stripe from 'stripe';
import { StripeSimulator, subscriptionOf, type SimulatedEvent } from './simulator';

const KEY = 'sk_test_sdk_suite';
const SECRET = 'whsec_sdk_suite';

/** The simulator driven by the official Stripe SDK: it must answer as the real API does. */
describe('Stripe simulator, driven by the official stripe SDK', () => {
  const received: Array<{ event: Stripe.Event; signature: string }> = [];
  let receiver: import('node:http').Server;
  const sim = new StripeSimulator({ port: 0, secretKey: KEY, webhookSecret: SECRET, webhookUrl: () => receiverUrl });
  let receiverUrl = '';
  let stripe: Stripe;

  before(async () => {
    const http = await import('node:http');
    // A webhook endpoint that verifies exactly as the SDK tells integrators to.
    receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
        const signature = String(req.headers['stripe-signature']);
        try {
          received.push({ event: Stripe.webhooks.constructEvent(Buffer.concat(chunks), signature, SECRET, 300), signature });
          res.writeHead(200).end('{}');
        } catch {
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as import('node:net').AddressInfo).port}/hook`;
    const base = new URL(await sim.start());
    stripe = new Stripe(KEY, { host: base.hostname, port: Number(base.port), protocol: 'http', maxNetworkRetries: 0, telemetry: false });
  });
  after(async () => {
    await sim.stop();
    await new Promise((r) => receiver.close(r));
  });
  beforeEach(() => {
    sim.reset();
    received.length = 0;
  });

  /** The types received, leaving out customer.created (sent for every customer, as Stripe does). */
  const types = () => received.map((r) => r.event.type).filter((t) => t !== 'customer.created');

  async function subscribed(price = 'price_vanilla') {
    const customer = await stripe.customers.create({ email: 'a@example.test', metadata: { accountId: 'acct-1' } });
    const session = await stripe.checkout.sessions.create({ mode: 'subscription', customer: customer.id, line_items: [{ price, quantity: 1 }], success_url: 'http://x/ok', cancel_url: 'http://x/no' });
    const subscription = sim.world.completeCheckout(session.id, 'paid')!;
    await sim.idle();
    return { customer, session, subscription };
  }

  it('creates a customer and reads it back; the same Idempotency-Key returns the same customer', async () => {
    const first = await stripe.customers.create({ email: 'a@example.test', metadata: { accountId: 'acct-1' } }, { idempotencyKey: 'k-1' });
    const again = await stripe.customers.create({ email: 'a@example.test', metadata: { accountId: 'acct-1' } }, { idempotencyKey: 'k-1' });
    expect(again.id).to.equal(first.id);
    expect(sim.world.customers.size).to.equal(1);
    const read = await stripe.customers.retrieve(first.id);
    expect(read).to.deep.include({ id: first.id, email: 'a@example.test', metadata: { accountId: 'acct-1' } });
  });

  it('a checkout session has a URL to the pay / fail page; paying starts an active subscription and posts signed events', async () => {
    const { customer, session, subscription } = await subscribed();
    expect(session.url).to.equal(`${sim.origin}/checkout/${session.id}`);
    expect(await (await fetch(session.url!)).text()).to.include('This checkout is complete');
    const read = await stripe.subscriptions.retrieve(subscription.id);
    expect(read).to.deep.include({ status: 'active', customer: customer.id });
    expect(read.items.data[0].price.id).to.equal('price_vanilla');
    expect(types()).to.deep.equal(['checkout.session.completed', 'customer.subscription.created', 'invoice.paid']);
    const completed = await stripe.checkout.sessions.retrieve(session.id);
    expect(completed).to.deep.include({ status: 'complete', subscription: subscription.id });
  });

  it('the "Fail payment" button declines the card: nothing is created, no event is sent', async () => {
    const customer = await stripe.customers.create({ email: 'b@example.test' });
    const session = await stripe.checkout.sessions.create({ mode: 'subscription', customer: customer.id, line_items: [{ price: 'price_vanilla', quantity: 1 }], success_url: 'http://x/ok', cancel_url: 'http://x/no' });
    const page = await (await fetch(session.url!)).text();
    expect(page).to.include('>Pay</button>').and.include('>Fail payment</button>');
    const res = await fetch(`${sim.origin}/checkout/${session.id}/fail`, { method: 'POST', redirect: 'manual' });
    expect(res.status).to.equal(303);
    expect(res.headers.get('location')).to.equal('http://x/no');
    expect((await stripe.subscriptions.list({ customer: customer.id })).data).to.deep.equal([]);
    expect(types()).to.deep.equal([]);
  });

  it('a failed renewal makes the subscription past_due; paying the open invoice makes it active again', async () => {
    const { subscription } = await subscribed();
    sim.world.renew(subscription.id, 'failed');
    await sim.idle();
    expect((await stripe.subscriptions.retrieve(subscription.id)).status).to.equal('past_due');
    sim.world.payOpenInvoices(subscription.id);
    await sim.idle();
    expect((await stripe.subscriptions.retrieve(subscription.id)).status).to.equal('active');
    expect(types().slice(3)).to.deep.equal(['invoice.payment_failed', 'customer.subscription.updated', 'invoice.paid', 'customer.subscription.updated']);
  });

  it('lists invoices newest first, paged with starting_after, the SDK auto-paginating them all', async () => {
    const { customer, subscription } = await subscribed();
    for (let i = 0; i < 4; i++) sim.world.renew(subscription.id, 'paid');
    const first = await stripe.invoices.list({ customer: customer.id, limit: 2 });
    expect(first.data).to.have.length(2);
    expect(first.has_more).to.equal(true);
    expect(first.data[0].created).to.be.at.least(first.data[1].created);
    const all: string[] = [];
    for await (const invoice of stripe.invoices.list({ customer: customer.id, limit: 2 })) all.push(invoice.id!);
    expect(new Set(all).size).to.equal(5);
    expect(subscriptionOf(first.data[0])).to.equal(subscription.id);
  });

  it('lists events by creation time and type, and retrieves one', async () => {
    await subscribed();
    const listed = await stripe.events.list({ created: { gte: 0 }, types: ['invoice.paid'] });
    expect(listed.data.map((e) => e.type)).to.deep.equal(['invoice.paid']);
    expect((await stripe.events.retrieve(listed.data[0].id)).id).to.equal(listed.data[0].id);
    expect((await stripe.events.list({ created: { gte: Math.floor(Date.now() / 1000) + 3600 } })).data).to.deep.equal([]);
  });

  it('creates a billing portal session and a webhook endpoint; events also go to endpoints created through the API', async () => {
    const { customer } = await subscribed();
    const portal = await stripe.billingPortal.sessions.create({ customer: customer.id, return_url: 'http://x/billing' });
    expect(portal.url).to.match(new RegExp(`^${sim.origin}/portal/`));
    const endpoint = await stripe.webhookEndpoints.create({ url: receiverUrl, enabled_events: ['*'] });
    expect(endpoint).to.deep.include({ url: receiverUrl, status: 'enabled', secret: SECRET });
    received.length = 0;
    sim.world.emit('customer.updated', customer as any);
    await sim.idle();
    expect(received.map((r) => r.event.type)).to.deep.equal(['customer.updated', 'customer.updated']);
  });

  it('answers errors in Stripe\'s envelope: a bad key is StripeAuthenticationError, a missing object StripeInvalidRequestError', async () => {
    const base = new URL(sim.url);
    const stranger = new Stripe('sk_test_wrong', { host: base.hostname, port: Number(base.port), protocol: 'http', maxNetworkRetries: 0 });
    const denied = await stranger.customers.create({}).then(() => null, (e: unknown) => e);
    expect(denied).to.be.instanceOf(Stripe.errors.StripeAuthenticationError);
    const missing = await stripe.subscriptions.retrieve('sub_nope').then(() => null, (e: any) => e);
    expect(missing).to.be.instanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(missing).to.deep.include({ code: 'resource_missing', statusCode: 404 });
  });

  it('injects 429 with Retry-After (StripeRateLimitError) and 5xx (StripeAPIError), changing nothing', async () => {
    sim.faults.rateLimitNext(1, 7);
    const limited = await stripe.customers.create({}).then(() => null, (e: any) => e);
    expect(limited).to.be.instanceOf(Stripe.errors.StripeRateLimitError);
    expect(limited.headers['retry-after']).to.equal('7');
    sim.faults.failNext(1, 503);
    const failed = await stripe.customers.create({}).then(() => null, (e: any) => e);
    expect(failed).to.be.instanceOf(Stripe.errors.StripeAPIError);
    expect(sim.world.customers.size).to.equal(0);
  });

  it('delivers duplicates concurrently, holds events while paused, and delivers them reordered on demand', async () => {
    const { subscription } = await subscribed();
    received.length = 0;
    sim.delivery.duplicates = 2;
    sim.world.cancel(subscription.id);
    await sim.idle();
    expect(received.map((r) => r.event.type)).to.deep.equal(Array(3).fill('customer.subscription.deleted'));
    expect(new Set(received.map((r) => r.event.id)).size).to.equal(1);
    received.length = 0;
    sim.delivery.duplicates = 0;
    sim.delivery.paused = true;
    const held: SimulatedEvent[] = [sim.world.emit('a.first', subscription), sim.world.emit('b.second', subscription)];
    expect(received).to.deep.equal([]);
    await sim.flush({ reorder: true });
    expect(received.map((r) => r.event.id)).to.deep.equal([held[1].id, held[0].id]);
  });

  it('signs with its own clock: a signature from 10 minutes ago fails the SDK\'s 300 s tolerance', async () => {
    const { subscription } = await subscribed();
    const event = sim.world.emit('customer.subscription.updated', subscription);
    const stale = sim.sign(event, Math.floor(Date.now() / 1000) - 600);
    expect(() => Stripe.webhooks.constructEvent(stale.payload, stale.signature, SECRET, 300)).to.throw(/timestamp outside the tolerance/i);
    const fresh = sim.sign(event);
    expect(Stripe.webhooks.constructEvent(fresh.payload, fresh.signature, SECRET, 300).id).to.equal(event.id);
  });

  it('keeps its account in its state file across a restart, as the embedded default needs', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const stateFile = path.join(mkdtempSync(path.join(tmpdir(), 'stripe-sim-')), 'account.json');
    const first = new StripeSimulator({ port: 0, secretKey: KEY, stateFile });
    const base = new URL(await first.start());
    const client = new Stripe(KEY, { host: base.hostname, port: Number(base.port), protocol: 'http', maxNetworkRetries: 0 });
    const customer = await client.customers.create({ email: 'kept@example.test' });
    await first.stop();
    const second = new StripeSimulator({ port: Number(base.port), secretKey: KEY, stateFile });
    await second.start();
    try {
      expect((await client.customers.retrieve(customer.id)).id).to.equal(customer.id);
    } finally {
      await second.stop();
    }
  });
});
