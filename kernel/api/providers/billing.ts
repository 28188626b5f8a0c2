import { PortId } from '../ports';
import { PlanLimitError } from '../errors';
import type { AccountView, EnforcementState, PlanChoices } from '../domain';

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

/**
 * Refuses what the plan does not include (403 `forbidden` naming the plan and the limit): the
 * kernel's create path, a resize and a mod install all ask the same question. No plan limits
 * (null) allow everything.
 */
export function assertEntitled(entitlements: PlanEntitlements | null, choices: PlanChoices): void {
  if (!entitlements) return;
  const { plan, flavors, memoryMbMax, mods } = entitlements;
  if (choices.flavor !== undefined && flavors.length > 0 && !flavors.includes(choices.flavor)) {
    throw new PlanLimitError(plan, `The ${plan} plan does not include ${choices.flavor} servers (it includes ${flavors.join(', ')})`,
      { limit: 'flavors', allowed: flavors, requested: choices.flavor });
  }
  if (choices.memoryMb !== undefined && choices.memoryMb > memoryMbMax) {
    throw new PlanLimitError(plan, `The ${plan} plan allows at most ${memoryMbMax} MB per server`, { limit: 'memoryMbMax', allowed: memoryMbMax, requested: choices.memoryMb });
  }
  if (choices.mods && !mods) {
    throw new PlanLimitError(plan, `The ${plan} plan does not include mods or plugins`, { limit: 'mods', allowed: false, requested: true });
  }
}
