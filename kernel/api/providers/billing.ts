import { PortId } from '../ports';
import type { AccountView, EnforcementState } from '../domain';

export interface BillingEvent {
  id: string;
  type: string;
  customerId: string | null;
  data: Record<string, unknown>;
}

/** Payments: a payment provider's customers, subscriptions and events. */
export abstract class BillingProvider {
  static readonly port = new PortId<BillingProvider>('BillingProvider');
  abstract createCheckout(account: AccountView, plan: string): Promise<{ url: string }>;
  /** Verifies signature and freshness of a webhook; throws InvalidRequestError when forged or stale. */
  abstract verifyWebhook(rawBody: Buffer, signature: string): BillingEvent;
}

/** Answers "may this account do X now?"; the billing plugin implements it, others ask it. */
export abstract class BillingGate {
  static readonly port = new PortId<BillingGate>('BillingGate');
  abstract stateOf(accountId: string): Promise<EnforcementState>;
}
