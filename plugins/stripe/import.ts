import { z } from 'zod';
import type { EntityManager } from 'typeorm';
import { ImportedAccountSection, InvalidRequestError } from '../../kernel/api';

/** The `billing` section of an imported account, as `zpack import` hands it over. */
const importedBilling = z.object({
  stripeCustomerId: z.string().regex(/^cus_[A-Za-z0-9]+$/).nullable().default(null),
  plan: z.string().nullable().default(null),
  subscriptionStatus: z.string().nullable().default(null),
});

/**
 * Takes the Stripe customer, plan and subscription status of an account of the system being
 * replaced, so its customers keep paying where they paid. Enforcement starts from `active`: the
 * next reconciliation reads the subscription from Stripe and moves the account from there.
 */
export class StripeAccountImport extends ImportedAccountSection {
  readonly section = 'billing';

  constructor(private readonly plans: () => string[]) {
    super();
  }

  async adopt(accountId: string, value: Record<string, unknown>, m: EntityManager): Promise<void> {
    const billing = importedBilling.parse(value);
    if (billing.plan && !this.plans().includes(billing.plan)) {
      throw new InvalidRequestError(`plan "${billing.plan}" is not configured (plans: ${this.plans().join(', ')})`);
    }
    // A second import finds the row and changes nothing.
    await m.query(
      `INSERT INTO billing_account (account_id, customer_id, plan, subscription_status) VALUES ($1, $2, $3, $4) ON CONFLICT (account_id) DO NOTHING`,
      [accountId, billing.stripeCustomerId, billing.plan, billing.subscriptionStatus],
    );
  }
}
