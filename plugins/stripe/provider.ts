import { BillingGate, BillingProvider, ConflictError, InvalidRequestError } from '../../kernel/api';
import type { AccountView, BillingEvent, EnforcementState, PlanEntitlements } from '../../kernel/api';
import type { StripeConnection } from './connection';
import { PAYING, type StripeConfig } from './config';
import type { StripeEvents } from './events';
import type { BillingStore } from './store';

/** Checkout for a plan, the customer portal, and webhook verification, on Stripe. */
export class StripeBilling extends BillingProvider {
  constructor(
    private readonly config: StripeConfig,
    private readonly connection: StripeConnection,
    private readonly store: BillingStore,
    private readonly events: () => StripeEvents,
  ) {
    super();
  }

  /** The account's Stripe customer, created once (the idempotency key makes concurrent creates one). */
  async customerOf(account: AccountView): Promise<string> {
    const row = await this.store.row(account.id);
    if (row?.customerId) return row.customerId;
    const created = await this.connection.client.createCustomer(account.id, account.email);
    return this.store.attachCustomer(account.id, created);
  }

  /** 400 for a plan not in config (listing them), 409 with the portal URL for an account that already pays. */
  async createCheckout(account: AccountView, plan: string): Promise<{ url: string }> {
    const chosen = this.config.plans[plan];
    if (!chosen || !Object.hasOwn(this.config.plans, plan)) {
      const plans = Object.keys(this.config.plans);
      throw new InvalidRequestError(`Unknown plan "${plan}"; plans: ${plans.join(', ')}`, { plans, fields: [{ path: 'body.plan', message: `must be one of ${plans.join(', ')}` }] });
    }
    const row = await this.store.row(account.id);
    if (row?.customerId && row.subscriptionStatus && PAYING.has(row.subscriptionStatus)) {
      const portalUrl = await this.connection.client.portalSession(row.customerId, this.config.returnUrl);
      throw new ConflictError('The account already pays for a plan: change it in the billing portal', { portalUrl, plan: row.plan });
    }
    const customer = await this.customerOf(account);
    const url = await this.connection.client.checkoutSession({ customer, priceId: chosen.priceId, accountId: account.id, plan, returnUrl: this.config.returnUrl });
    return { url };
  }

  async portal(account: AccountView): Promise<{ url: string }> {
    return { url: await this.connection.client.portalSession(await this.customerOf(account), this.config.returnUrl) };
  }

  verifyWebhook(rawBody: Buffer, signature: string): BillingEvent {
    const event = this.events().verify(rawBody, signature);
    const object = event.data.object as { customer?: unknown };
    return { id: event.id, type: event.type, customerId: typeof object.customer === 'string' ? object.customer : null, data: event.data.object as unknown as Record<string, unknown> };
  }
}

/** What the kernel and other plugins ask: the enforcement state and the plan's limits. */
export class StripeBillingGate extends BillingGate {
  constructor(private readonly config: StripeConfig, private readonly store: BillingStore) {
    super();
  }

  /** Admins and billing-exempt accounts are never enforced, whatever their row still says. */
  async stateOf(accountId: string): Promise<EnforcementState> {
    const account = await this.store.account(accountId);
    if (!account || account.role === 'admin' || account.billingExempt) return 'active';
    return (await this.store.row(accountId))?.state ?? 'active';
  }

  /** The plan's limits while it is subscribed (also while a payment is overdue); null without one. */
  override async entitlementsOf(accountId: string): Promise<PlanEntitlements | null> {
    const account = await this.store.account(accountId);
    if (!account || account.role === 'admin' || account.billingExempt) return null;
    const plan = (await this.store.row(accountId))?.plan;
    const limits = plan ? this.config.plans[plan] : undefined;
    if (!plan || !limits) return null;
    return { plan, maxInstances: limits.maxInstances, memoryMbMax: limits.memoryMbMax, flavors: limits.flavors, mods: limits.mods };
  }
}
