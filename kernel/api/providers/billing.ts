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

/** What an account's plan lets it have (the seed's Vanilla / Modded / Heavy tiers). */
export interface PlanEntitlements {
  plan: string;
  maxInstances: number;
  /** The largest memory one server may be given. */
  memoryMbMax: number;
  /** Flavors (vanilla, paper, fabric …) the plan may create; empty: any. */
  flavors: string[];
  /** Whether mods and plugins may be installed. */
  mods: boolean;
  /** Backups kept per server before the oldest unlocked one rotates out; absent: the kernel's default. */
  backupsMax?: number;
}

/** Answers "may this account do X now?"; the billing plugin implements it, others ask it. */
export abstract class BillingGate {
  static readonly port = new PortId<BillingGate>('BillingGate');
  abstract stateOf(accountId: string): Promise<EnforcementState>;
  /**
   * The limits of the account's plan, or null when no plan limits apply (admins, billing-exempt
   * accounts, an installation without plans). A refusal names the plan (403 `forbidden`).
   */
  entitlementsOf(_accountId: string): Promise<PlanEntitlements | null> {
    return Promise.resolve(null);
  }
}
