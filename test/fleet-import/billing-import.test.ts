import { expect } from 'chai';
import { ImportedAccountSection, InstanceType } from '../../kernel/api';
import { FleetImporter } from '../../kernel/core/fleet-import/importer';
import { sampleFleet } from '../../kernel/core/fleet-import/sample';
import { minecraftSample } from './sample-game';
import stripePlugin from '../../plugins/stripe';
import { stripePluginConfig, testStripe } from '../../plugins/stripe/testing/fixture';
import type { StripeSimulator } from '../../plugins/stripe/testing/simulator';
import { startTestKernel, type TestKernel } from '../harness';

describe('zpack import: the billing section goes to the stripe plugin', () => {
  let sim: StripeSimulator;
  let tk: TestKernel;

  before(async () => {
    const stripe = testStripe();
    sim = stripe.sim;
    await sim.start();
    tk = await startTestKernel({ plugins: [stripePlugin], config: { plugins: stripePluginConfig(sim) } });
    stripe.target.url = tk.url;
  });
  after(async () => {
    await tk?.stop();
    await sim?.stop();
  });

  const run = (file: unknown) => new FleetImporter({
    ds: tk.kernel.ds, logger: tk.kernel.logger, types: () => tk.kernel.resolveAll(InstanceType), sections: () => tk.kernel.resolveAll(ImportedAccountSection),
  }).run(FleetImporter.parse(file));

  it('keeps each account\'s Stripe customer, plan and status, refuses an unknown plan, and changes nothing on a second run', async () => {
    const fleet = sampleFleet({ game: minecraftSample, accounts: 3, servers: 0, nodes: ['pve1'] });
    fleet.accounts[1].billing = { stripeCustomerId: 'cus_legacy1', plan: 'modded', subscriptionStatus: 'active' };
    fleet.accounts[2].billing = { stripeCustomerId: 'cus_legacy2', plan: 'platinum', subscriptionStatus: 'active' };
    const report = await run(fleet);
    expect(report.accounts).to.deep.equal({ imported: 2, skipped: 0, refused: 1 });
    expect(report.rows.find((r) => r.ref === 'usr_2')?.reason).to.match(/plan "platinum" is not configured/);
    expect(report.notes).to.deep.equal([]);
    const rows = await tk.kernel.ds.query(
      `SELECT a.email, b.customer_id, b.plan, b.subscription_status, b.state FROM billing_account b JOIN account a ON a.id = b.account_id ORDER BY a.email`);
    expect(rows).to.deep.equal([{ email: 'player1@legacy.example', customer_id: 'cus_legacy1', plan: 'modded', subscription_status: 'active', state: 'active' }]);
    const refused = await tk.kernel.ds.query(`SELECT count(*)::int AS n FROM account WHERE email = 'player2@legacy.example'`);
    expect(refused[0].n).to.equal(0);
    const again = await run(fleet);
    expect(again.accounts.skipped).to.equal(2);
    expect(await tk.kernel.ds.query(`SELECT count(*)::int AS n FROM billing_account`)).to.deep.equal([{ n: 1 }]);
  });
});
