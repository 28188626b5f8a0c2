import { expect } from 'chai';
import { BillingGate, Notifier, Tokens } from '../../kernel/api';
import { FakeClock, MemoryNotifier, startTestKernel, until, type TestKernel, type TestUser } from '../../kernel/testing';
import stripePlugin, { RECONCILE_JOB, StripeWiring } from '.';
import { stripePluginConfig, subscribe, testStripe, transitions } from './testing/fixture';
import type { StripeSimulator } from './testing/simulator';

describe('POST /api/billing/webhook', () => {
  const clock = new FakeClock();
  const notifier = new MemoryNotifier('email');
  let sim: StripeSimulator;
  let target: { url: string };
  let tk: TestKernel;

  before(async () => {
    ({ sim, target } = testStripe(clock));
    await sim.start();
    tk = await startTestKernel({
      plugins: [stripePlugin], config: { plugins: stripePluginConfig(sim) },
      overrides: [{ token: Notifier, value: notifier }, { token: Tokens.Clock, value: clock }],
    });
    target.url = tk.url;
  });
  after(async () => {
    await tk?.stop();
    await sim?.stop();
  });
  afterEach(() => {
    sim.faults.clear();
    Object.assign(sim.delivery, { paused: false, duplicates: 0, delayMs: 0 });
  });

  const post = (payload: string, signature?: string) =>
    tk.http.post('/api/billing/webhook', undefined, { raw: payload, headers: { 'content-type': 'application/json', ...(signature ? { 'stripe-signature': signature } : {}) } });
  const logged = async (eventId: string) => (await tk.kernel.ds.query(`SELECT * FROM stripe_event_log WHERE event_id = $1`, [eventId])).length;
  const billing = async (user: TestUser) => (await user.http.get('/api/billing')).body;

  async function paying(): Promise<{ user: TestUser; subscriptionId: string }> {
    const user = await tk.user();
    const subscription = await subscribe(sim, user);
    return { user, subscriptionId: subscription.id };
  }

  it('a forged signature, a missing one and a 10-minute-old timestamp are 400, and nothing is written', async () => {
    const { subscriptionId } = await paying();
    sim.delivery.paused = true;
    sim.world.renew(subscriptionId, 'failed');
    const event = sim.held.find((e) => e.type === 'invoice.payment_failed')!;
    sim.held.length = 0;
    const forged = sim.sign(event, undefined, 'whsec_not_ours');
    const stale = sim.sign(event, Math.floor(clock.now().getTime() / 1000) - 600);
    for (const [payload, signature] of [[forged.payload, forged.signature], [stale.payload, stale.signature], [stale.payload, undefined]] as const) {
      const res = await post(payload, signature);
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal('invalid_request');
    }
    const tampered = sim.sign(event);
    expect((await post(tampered.payload.replace('invoice.payment_failed', 'invoice.paid'), tampered.signature)).status).to.equal(400);
    expect(await logged(event.id)).to.equal(0);
  });

  it('the same event delivered 5 times at once: one row, one state change, four acknowledged duplicates', async () => {
    const { user, subscriptionId } = await paying();
    sim.delivery.duplicates = 4;
    sim.world.renew(subscriptionId, 'failed');
    await sim.idle();
    const failed = sim.world.events.find((e) => e.type === 'invoice.payment_failed' && sim.deliveries.some((d) => d.eventId === e.id))!;
    const answers = sim.deliveries.filter((d) => d.eventId === failed.id).map((d) => d.status);
    expect(answers).to.deep.equal([200, 200, 200, 200, 200]);
    expect(await logged(failed.id)).to.equal(1);
    expect(await transitions(tk, user.id)).to.deep.equal([{ from: 'active', to: 'warning', reason: 'invoice.payment_failed' }]);
    expect((await billing(user)).enforcement.state).to.equal('warning');
  });

  it('a replayed event is acknowledged with duplicate: true and changes nothing', async () => {
    const { user, subscriptionId } = await paying();
    sim.world.renew(subscriptionId, 'failed');
    await sim.idle();
    const event = sim.world.events.find((e) => e.type === 'invoice.payment_failed' && e.data.object.customer === sim.world.subscriptions.get(subscriptionId)!.customer)!;
    const again = sim.sign(event);
    const res = await post(again.payload, again.signature);
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ received: true, duplicate: true, outcome: 'duplicate' });
    expect(await transitions(tk, user.id)).to.have.length(1);
  });

  it('subscription.updated arriving before subscription.created: the final state is the subscription as Stripe holds it', async () => {
    const user = await tk.user();
    sim.delivery.paused = true;
    const res = await user.http.post('/api/billing/checkout', { plan: 'modded' });
    const session = String(res.body.url).split('/').at(-1)!;
    const subscription = sim.world.completeCheckout(session, 'paid')!;
    sim.world.renew(subscription.id, 'failed');
    sim.world.payOpenInvoices(subscription.id);
    expect(sim.held.map((e) => e.type)).to.include.members(['customer.subscription.created', 'customer.subscription.updated']);
    await sim.flush({ reorder: true });
    const view = await billing(user);
    expect(view).to.deep.include({ plan: 'modded', subscriptionStatus: 'active' });
    expect(view.enforcement.state).to.equal('active');
    // Read as it is now, the past_due in between was never seen: no warning, no restore.
    expect(await transitions(tk, user.id)).to.deep.equal([]);
  });

  it('an event with a valid signature for an unknown customer is 200 and logged, nothing else', async () => {
    const stranger = sim.world.createCustomer({ email: 'nobody@example.test' });
    const subscription = sim.world.createSubscription(stranger.id, 'price_vanilla');
    const event = sim.world.emit('customer.subscription.created', subscription);
    await sim.idle();
    expect(sim.deliveries.filter((d) => d.eventId === event.id).map((d) => d.status)).to.deep.equal([200]);
    const [row] = await tk.kernel.ds.query(`SELECT outcome, account_id FROM stripe_event_log WHERE event_id = $1`, [event.id]);
    expect(row).to.deep.equal({ outcome: 'unknown_customer', account_id: null });
    expect((await tk.kernel.ds.query(`SELECT count(*)::int AS n FROM billing_account WHERE customer_id = $1`, [stranger.id]))[0].n).to.equal(0);
  });

  it('acknowledges and ignores event types it does not handle', async () => {
    const customer = sim.world.createCustomer({});
    await sim.idle();
    const event = sim.world.events.find((e) => e.type === 'customer.created' && e.data.object.id === customer.id)!;
    const [row] = await tk.kernel.ds.query(`SELECT outcome FROM stripe_event_log WHERE event_id = $1`, [event.id]);
    expect(row.outcome).to.equal('ignored');
  });

  it('invoice.paid sends the customer a receipt (invoice_paid)', async () => {
    const { user } = await paying();
    const receipt = await notifier.waitFor(user.email, 'invoice_paid');
    // The subject is the kernel's invoice_paid template's, naming the invoice.
    expect(receipt.subject).to.match(/^Receipt for your zpack invoice SIM-/);
  });

  it('an exempt account with failed payments is never enforced', async () => {
    const { user, subscriptionId } = await paying();
    const admin = await tk.user({ role: 'admin' });
    expect((await admin.http.patch(`/api/admin/users/${user.id}`, { billingExempt: true })).status).to.equal(200);
    for (let i = 0; i < 3; i++) sim.world.renew(subscriptionId, 'failed');
    await sim.idle();
    clock.advance(30 * 86_400_000);
    await tk.container.resolve(StripeWiring).enforcement.advanceDue();
    const view = await billing(user);
    expect(view).to.deep.include({ exempt: true, subscriptionStatus: 'past_due' });
    expect(view.enforcement.state).to.equal('active');
    expect(await transitions(tk, user.id)).to.deep.equal([]);
  });

  it('an account made exempt while suspended is released by the schedule: active, with the step logged', async () => {
    const { user, subscriptionId } = await paying();
    sim.world.renew(subscriptionId, 'failed');
    await sim.idle();
    const state = async () => (await billing(user)).enforcement.state;
    await until('warning', state, (s) => s === 'warning');
    clock.advance(7 * 86_400_000 + 1000);
    await until('final_warning', state, (s) => s === 'final_warning');
    clock.advance(3 * 86_400_000 + 1000);
    await until('suspended', state, (s) => s === 'suspended');
    const admin = await tk.user({ role: 'admin' });
    await admin.http.patch(`/api/admin/users/${user.id}`, { billingExempt: true });
    expect(await tk.kernel.resolve(BillingGate).stateOf(user.id)).to.equal('active');
    await until('released', async () => (await transitions(tk, user.id)).at(-1), (t) => t?.to === 'active');
    expect((await transitions(tk, user.id)).map((t) => `${t.to}:${t.reason}`)).to.deep.equal([
      'warning:invoice.payment_failed', 'final_warning:schedule', 'suspended:schedule', 'active:exempt',
    ]);
  });

  it('an event that was never delivered is applied by the next reconciliation, once', async () => {
    const { user, subscriptionId } = await paying();
    sim.delivery.paused = true;
    sim.world.renew(subscriptionId, 'failed');
    const missed = sim.held.find((e) => e.type === 'invoice.payment_failed')!;
    sim.held.length = 0;
    const wiring = tk.container.resolve(StripeWiring);
    const report = await wiring.reconciliation.run();
    expect(report.applied).to.be.at.least(1);
    expect(await transitions(tk, user.id)).to.deep.equal([{ from: 'active', to: 'warning', reason: 'invoice.payment_failed' }]);
    const [row] = await tk.kernel.ds.query(`SELECT source FROM stripe_event_log WHERE event_id = $1`, [missed.id]);
    expect(row.source).to.equal('reconcile');
    // A second pass and the late webhook change nothing.
    await wiring.reconciliation.run();
    const late = sim.sign(missed);
    expect((await post(late.payload, late.signature)).body.duplicate).to.equal(true);
    expect(await transitions(tk, user.id)).to.have.length(1);
    expect(await logged(missed.id)).to.equal(1);
  });

  it('the reconcile job is scheduled on the plugin\'s own queue', async () => {
    const queues = tk.kernel.queues;
    const declared = queues.declaredQueues().map((q) => q.name);
    expect(declared).to.include('stripe.enforcement');
    const schedulers = await queues.queue({ name: 'stripe.enforcement', owner: 'stripe' }).getJobSchedulers();
    expect(schedulers.map((s) => s.key).sort()).to.deep.equal([RECONCILE_JOB, 'stripe.enforce'].sort());
  });
});
