import { expect } from 'chai';
import { startTestKernel, type TestKernel } from '../../kernel/testing';
import stripePlugin from '.';
import { stripePluginConfig, subscribe, testStripe } from './testing/fixture';
import type { StripeSimulator } from './testing/simulator';

describe('Billing routes: checkout, portal, invoices, state', () => {
  let sim: StripeSimulator;
  let target: { url: string };
  let tk: TestKernel;

  before(async () => {
    ({ sim, target } = testStripe());
    await sim.start();
    tk = await startTestKernel({ plugins: [stripePlugin], config: { plugins: stripePluginConfig(sim) } });
    target.url = tk.url;
  });
  after(async () => {
    await tk?.stop();
    await sim?.stop();
  });
  afterEach(() => sim.faults.clear());

  const customers = () => [...sim.world.customers.values()];

  it('GET /api/billing of a new account: no plan, active, not exempt, no announcement', async () => {
    const user = await tk.user();
    const res = await user.http.get('/api/billing');
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ plan: null, subscriptionStatus: null, enforcement: { state: 'active', since: null, nextStepAt: null }, exempt: false, announcement: null });
  });

  it('POST /api/billing/checkout {plan} answers the Checkout Session URL and creates the customer once', async () => {
    const user = await tk.user();
    const [a, b] = await Promise.all([user.http.post('/api/billing/checkout', { plan: 'vanilla' }), user.http.post('/api/billing/checkout', { plan: 'modded' })]);
    expect([a.status, b.status]).to.deep.equal([200, 200]);
    expect(a.body.url).to.match(new RegExp(`^${sim.url}/checkout/cs_test_`));
    const mine = customers().filter((c) => (c.metadata as Record<string, string>).accountId === user.id);
    expect(mine).to.have.length(1);
    const [row] = await tk.kernel.ds.query(`SELECT customer_id FROM billing_account WHERE account_id = $1`, [user.id]);
    expect(row.customer_id).to.equal(mine[0].id);
  });

  it('a plan name not in config is 400 listing the plans', async () => {
    const user = await tk.user();
    const res = await user.http.post('/api/billing/checkout', { plan: 'platinum' });
    expect(res.status).to.equal(400);
    expect(res.body.error.details.plans).to.include.members(['vanilla', 'modded']);
    expect(res.body.error.message).to.include('vanilla, modded');
    const proto = await user.http.post('/api/billing/checkout', { plan: 'constructor' });
    expect(proto.status).to.equal(400);
  });

  it('a checkout for an account that already pays is 409 with the portal URL', async () => {
    const user = await tk.user();
    await subscribe(sim, user, 'vanilla');
    const res = await user.http.post('/api/billing/checkout', { plan: 'modded' });
    expect(res.status).to.equal(409);
    expect(res.body.error.details.portalUrl).to.match(new RegExp(`^${sim.url}/portal/`));
  });

  it('Stripe rate-limiting or down during checkout is 503 with Retry-After, and no customer is half-created', async () => {
    const user = await tk.user();
    const before = customers().length;
    sim.faults.rateLimitNext(1, 9);
    const limited = await user.http.post('/api/billing/checkout', { plan: 'vanilla' });
    expect(limited.status).to.equal(503);
    expect(limited.headers.get('retry-after')).to.equal('9');
    sim.faults.failNext(1, 500);
    const down = await user.http.post('/api/billing/checkout', { plan: 'vanilla' });
    expect(down.status).to.equal(503);
    expect(down.headers.get('retry-after')).to.be.a('string');
    expect(customers().length).to.equal(before);
    const rows = await tk.kernel.ds.query(`SELECT customer_id FROM billing_account WHERE account_id = $1`, [user.id]);
    expect(rows.map((r: { customer_id: string | null }) => r.customer_id).filter(Boolean)).to.deep.equal([]);

    // The session failing after the customer was made keeps the customer (whole, stored), and a retry reuses it.
    sim.faults.failNext(1, 503, 'POST');
    await user.http.post('/api/billing/checkout', { plan: 'vanilla' });
    const retried = await user.http.post('/api/billing/checkout', { plan: 'vanilla' });
    expect(retried.status).to.equal(200);
    expect(customers().filter((c) => (c.metadata as Record<string, string>).accountId === user.id)).to.have.length(1);
  });

  it('POST /api/billing/portal answers the Customer Portal URL', async () => {
    const user = await tk.user();
    const res = await user.http.post('/api/billing/portal');
    expect(res.status).to.equal(200);
    expect(res.body.url).to.match(new RegExp(`^${sim.url}/portal/bps_`));
  });

  it('GET /api/billing/invoices pages the customer\'s invoices newest first', async () => {
    const user = await tk.user();
    const subscription = await subscribe(sim, user, 'vanilla');
    for (let i = 0; i < 4; i++) sim.world.renew(subscription.id, 'paid');
    await sim.idle();
    const first = await user.http.get('/api/billing/invoices?limit=3');
    expect(first.status).to.equal(200);
    expect(first.body.invoices).to.have.length(3);
    expect(first.body.nextCursor).to.be.a('string');
    const second = await user.http.get(`/api/billing/invoices?limit=3&cursor=${first.body.nextCursor}`);
    expect(second.body.invoices).to.have.length(2);
    expect(second.body.nextCursor).to.equal(null);
    const numbers = [...first.body.invoices, ...second.body.invoices].map((i: { number: string }) => i.number);
    expect(new Set(numbers).size).to.equal(5);
    expect(first.body.invoices[0]).to.include({ status: 'paid', amountPaid: 1000, currency: 'usd' });
    const stranger = await tk.user();
    expect((await stranger.http.get('/api/billing/invoices')).body).to.deep.equal({ invoices: [], nextCursor: null });
  });
});
