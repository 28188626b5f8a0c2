import { expect } from 'chai';
import { dropSchema } from '../../kernel/core/database';
import { startTestKernel, testConfig, until, type TestKernel } from '../harness';
import stripePlugin from '../../plugins/stripe';
import { stripePluginConfig, testStripe } from '../../plugins/stripe/testing/fixture';
import type { StripeSimulator } from '../../plugins/stripe/testing/simulator';

describe('stripe plugin: its queue and roles', () => {
  const shared = testConfig();
  const kernels: TestKernel[] = [];
  let sim: StripeSimulator;
  before(async () => {
    ({ sim } = testStripe());
    await sim.start();
  });
  after(async () => {
    for (const tk of kernels.reverse()) await tk.stop();
    await dropSchema(shared.database.url, shared.database.schema);
    await sim.stop();
  });
  const start = async (role: string) => {
    const tk = await startTestKernel({
      plugins: [stripePlugin], schema: shared.database.schema, prefix: shared.redis.prefix,
      config: { role, database: { dropSchemaOnStop: false }, plugins: stripePluginConfig(sim) },
    });
    kernels.push(tk);
    return tk;
  };

  it('the enforcement queue is the plugin\'s own, worked by billing-worker (and all), not by other worker roles', async () => {
    const repair = await start('repair-worker');
    const ref = repair.kernel.queues.declaredQueues().find((q) => q.owner === 'stripe')!;
    expect(ref.name).to.equal('stripe.enforcement');
    expect(await repair.kernel.queues.queue(ref).getWorkers()).to.have.length(0);
    const billing = await start('billing-worker');
    const workers = await until('a worker on stripe.enforcement', () => billing.kernel.queues.queue(ref).getWorkers(), (w) => w.length > 0);
    expect(workers).to.have.length(1);
  });

  it('refuses to boot outside simulate mode without its secrets, naming the key', async () => {
    const err = await startTestKernel({
      plugins: [stripePlugin], config: { plugins: { stripe: { enabled: true, options: { simulate: false, secretKey: '', webhookSecret: '' } } } },
    }).then(() => null, (e: Error & { code?: string }) => e);
    expect(err?.message).to.match(/plugins\.stripe\.options\.secretKey/);
    expect(err?.code).to.equal('secret_required');
  });
});
