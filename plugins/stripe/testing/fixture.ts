import { expect } from 'chai';
import type { Clock } from '../../../kernel/api';
import type { TestKernel, TestUser } from '../../../kernel/testing';
import { StripeSimulator, type StripeObject } from './simulator';

export const TEST_SECRET_KEY = 'sk_test_zpack_suite';
export const TEST_WEBHOOK_SECRET = 'whsec_zpack_suite';

/** The plans the suites use: vanilla is small and has no fabric, modded has all. */
export const TEST_PLANS = {
  vanilla: { priceId: 'price_vanilla', maxInstances: 2, memoryMbMax: 4096, flavors: ['vanilla', 'paper'], mods: false },
  modded: { priceId: 'price_modded', maxInstances: 3, memoryMbMax: 8192, flavors: ['vanilla', 'paper', 'fabric'], mods: true },
};

/** A simulator whose events go to the kernel once `target.url` is set, signing with `clock`. */
export function testStripe(clock?: Clock): { sim: StripeSimulator; target: { url: string } } {
  const target = { url: '' };
  const sim = new StripeSimulator({
    port: 0, secretKey: TEST_SECRET_KEY, webhookSecret: TEST_WEBHOOK_SECRET,
    webhookUrl: () => target.url && `${target.url}/api/billing/webhook`,
    now: clock && (() => Math.floor(clock.now().getTime() / 1000)),
  });
  return { sim, target };
}

/** Plugin config pointing at a started simulator through the real SDK client. */
export function stripePluginConfig(sim: StripeSimulator, options: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    stripe: {
      enabled: true,
      options: {
        simulate: false, baseUrl: sim.url, secretKey: TEST_SECRET_KEY, webhookSecret: TEST_WEBHOOK_SECRET, plans: TEST_PLANS,
        maxNetworkRetries: 0, timeoutMs: 3000, enforceEveryMs: 100, reconcileEveryMs: 3_600_000, requirePlan: true, ...options,
      },
    },
  };
}

/** Checkout through the API, paid on the simulator: the account has `plan`, active. Answers its subscription. */
export async function subscribe(sim: StripeSimulator, user: TestUser, plan = 'vanilla'): Promise<StripeObject> {
  const res = await user.http.post('/api/billing/checkout', { plan });
  expect(res.status, res.text).to.equal(200);
  const sessionId = String(res.body.url).split('/').at(-1)!;
  const subscription = sim.world.completeCheckout(sessionId, 'paid')!;
  await sim.idle();
  const billing = await user.http.get('/api/billing');
  expect(billing.body, 'the account pays after checkout').to.deep.include({ plan, subscriptionStatus: 'active' });
  return subscription;
}

/** The enforcement transitions of an account, oldest first. */
export async function transitions(tk: TestKernel, accountId: string): Promise<Array<{ from: string; to: string; reason: string }>> {
  return tk.kernel.ds.query(`SELECT from_state AS "from", to_state AS "to", reason FROM billing_enforcement_event WHERE account_id = $1 ORDER BY id`, [accountId]);
}
