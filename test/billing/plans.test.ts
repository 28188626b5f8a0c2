import { expect } from 'chai';
import { assertEntitled, PlanLimitError, type PlanEntitlements } from '../../kernel/api';
import stripePlugin from '../../plugins/stripe';
import { stripePluginConfig, subscribe, testStripe } from '../../plugins/stripe/testing/fixture';
import type { StripeSimulator } from '../../plugins/stripe/testing/simulator';
import { startTestKernel, type TestKernel } from '../harness';
import { create, fleetConfig, fleetPlugins, gameBody, settle, startFleet, type Fleet } from '../provisioning/fixture';

describe('Plan entitlements at create (BillingGate.entitlementsOf)', () => {
  let fleet: Fleet;
  let stripe: StripeSimulator;
  let target: { url: string };
  let tk: TestKernel;

  before(async () => {
    fleet = await startFleet();
    ({ sim: stripe, target } = testStripe());
    await stripe.start();
    tk = await startTestKernel({ plugins: [...fleetPlugins, stripePlugin], config: fleetConfig(fleet, { plugins: stripePluginConfig(stripe) }) });
    target.url = tk.url;
  });
  after(async () => {
    await tk?.stop();
    await stripe?.stop();
    await fleet?.stop();
  });

  const fabric = gameBody('Modded', { version: '1.21.4', flavor: 'fabric', memoryMb: 2048 });

  it('a vanilla account asking for a fabric server is 403 naming the plan, and nothing is created', async () => {
    const user = await tk.user();
    await subscribe(stripe, user, 'vanilla');
    const res = await create(user, 'fabric-1', fabric);
    expect(res.status).to.equal(403);
    expect(res.body.error).to.deep.include({ code: 'forbidden' });
    expect(res.body.error.message).to.include('vanilla plan').and.include('fabric');
    expect(res.body.error.details).to.deep.include({ plan: 'vanilla', limit: 'flavors', requested: 'fabric' });
    expect((await user.http.get('/api/servers')).body.servers).to.deep.equal([]);
  });

  it('more memory than the plan allows is 403 naming the plan; the largest allowed is accepted', async () => {
    const user = await tk.user();
    await subscribe(stripe, user, 'vanilla');
    const big = await create(user, 'big-1', gameBody('Big', { version: '1.21.4', flavor: 'paper', memoryMb: 6144 }));
    expect(big.status).to.equal(403);
    expect(big.body.error.details).to.deep.include({ plan: 'vanilla', limit: 'memoryMbMax', allowed: 4096 });
    expect((await create(user, 'big-2', gameBody('Fits', { version: '1.21.4', flavor: 'paper', memoryMb: 4096 }))).status).to.equal(202);
  });

  it('the plan sets the quota: a vanilla account gets 2 servers, and /api/me says so', async () => {
    const user = await tk.user();
    await subscribe(stripe, user, 'vanilla');
    expect((await user.http.get('/api/me')).body.quota).to.deep.equal({ maxInstances: 2, used: 0 });
    expect((await create(user, 'q-1')).status).to.equal(202);
    expect((await create(user, 'q-2')).status).to.equal(202);
    const third = await create(user, 'q-3');
    expect(third.status).to.equal(403);
    expect(third.body.error.code).to.equal('quota_exceeded');
  });

  it('the modded plan allows fabric', async () => {
    const user = await tk.user();
    await subscribe(stripe, user, 'modded');
    expect((await create(user, 'modded-1', fabric)).status).to.equal(202);
  });

  it('a reinstall into a flavor the plan does not include is 403 naming the plan, and the server keeps its flavor', async () => {
    const user = await tk.user();
    await subscribe(stripe, user, 'vanilla');
    const made = await create(user, 'reinstall-1');
    expect(made.status, made.text).to.equal(202);
    const op = await settle(user, made.body.operation.id);
    expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
    const res = await user.http.post(`/api/servers/${op.instanceId}/reinstall`, { flavor: 'fabric' });
    expect(res.status, res.text).to.equal(403);
    expect(res.body.error.details).to.deep.include({ plan: 'vanilla', limit: 'flavors', requested: 'fabric' });
    const operations = await tk.kernel.ds.query(`SELECT kind FROM provisioning_operation WHERE instance_id = $1`, [op.instanceId]);
    expect(operations.map((o: { kind: string }) => o.kind)).to.deep.equal(['create']);
  });

  it('requirePlan: without a plan a create is refused naming the plans; admins and exempt accounts need none', async () => {
    const user = await tk.user();
    const res = await create(user, 'none-1');
    expect(res.status).to.equal(403);
    expect(res.body.error.message).to.include('needs a plan');
    expect(res.body.error.details.plans).to.include.members(['vanilla', 'modded']);
    const admin = await tk.user({ role: 'admin' });
    expect((await create(admin, 'admin-1', fabric)).status).to.equal(202);
    const exempt = await tk.user();
    expect((await admin.http.patch(`/api/admin/users/${exempt.id}`, { billingExempt: true })).status).to.equal(200);
    expect((await create(exempt, 'exempt-1', fabric)).status).to.equal(202);
  });

  it('a mod on a plan without mods is refused naming the plan (the check a mods plugin makes)', () => {
    const vanilla: PlanEntitlements = { plan: 'vanilla', maxInstances: 2, memoryMbMax: 4096, flavors: ['vanilla', 'paper'], mods: false };
    let refused: unknown;
    try {
      assertEntitled(vanilla, { mods: true });
    } catch (err) {
      refused = err;
    }
    expect(refused).to.be.instanceOf(PlanLimitError);
    expect(refused).to.deep.include({ status: 403, code: 'forbidden', plan: 'vanilla' });
    expect((refused as Error).message).to.equal('The vanilla plan does not include mods or plugins');
    expect(() => assertEntitled({ ...vanilla, mods: true }, { mods: true, flavor: 'paper', memoryMb: 4096 })).to.not.throw();
    expect(() => assertEntitled(null, { mods: true, flavor: 'fabric', memoryMb: 99_999 })).to.not.throw();
  });
});
