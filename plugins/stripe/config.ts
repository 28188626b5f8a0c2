import { z } from 'zod';
import { requireSecrets, simulatorListener } from '../../kernel/api';

/** One tier: its Stripe price and what it lets an account have (the seed's Vanilla / Modded / Heavy). */
const plan = z.object({
  /** The Stripe price id of the subscription (price_…). */
  priceId: z.string().min(1),
  maxInstances: z.number().int().min(0),
  /** The largest memory (MB) one server may ask for. */
  memoryMbMax: z.number().int().min(256),
  /** Flavors the plan may create; empty: any. */
  flavors: z.array(z.string().min(1)).default([]),
  /** Whether mods and plugins may be installed. */
  mods: z.boolean().default(false),
});

export const stripeConfig = z.object({
  /** Secret API key (sk_…); ignored when `simulate` is true and left empty. */
  secretKey: z.string().default(''),
  /** Signing secret of the webhook endpoint (whsec_…); in simulate mode the simulator signs with it when set. */
  webhookSecret: z.string().default(''),
  /** Plans by name; `POST /api/billing/checkout {plan}` takes one of these names. */
  plans: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/), plan).refine((p) => Object.keys(p).length > 0, 'at least one plan is required'),
  /** Creating a server needs a paying plan unless the account is exempt or an admin. */
  requirePlan: z.boolean().default(true),
  /** Days from a failed payment (warning) to the final warning, when new backups stop. */
  graceDays: z.number().min(0).default(7),
  /** Days from the final warning to suspension (servers stopped, nothing deleted). */
  finalWarningDays: z.number().min(0).default(3),
  /** How often the billing worker advances due enforcement steps and retries unfinished ones. */
  enforceEveryMs: z.number().int().min(50).default(60_000),
  /** How often the billing worker reconciles with Stripe (recent events and each paying account's subscription). */
  reconcileEveryMs: z.number().int().min(50).default(300_000),
  /** How far back the first reconciliation reads events (Stripe keeps 30 days). */
  reconcileLookbackSeconds: z.number().int().min(60).default(3 * 86_400),
  /** Where Checkout and the Customer Portal send the customer back to (the portal's billing page). */
  returnUrl: z.url().default('http://localhost:3000/billing'),
  /** Stripe API base (https://api.stripe.com); the SDK's host, port and protocol come from it. */
  baseUrl: z.url().default('https://api.stripe.com'),
  /** Deadline of each Stripe request. */
  timeoutMs: z.number().int().positive().default(10_000),
  /** The SDK's own retries (network failures, 409, 5xx). */
  maxNetworkRetries: z.number().int().min(0).max(5).default(1),
  /** Serve the Stripe API from an in-process loopback simulator (with pay / fail pages) instead of baseUrl. */
  simulate: z.boolean().default(false),
  simulator: simulatorListener().prefault({}),
}).superRefine((config, ctx) => {
  if (config.simulate) return;
  requireSecrets(ctx, config, ['secretKey', 'webhookSecret']);
});
export type StripeConfig = z.infer<typeof stripeConfig>;
export type PlanConfig = z.infer<typeof plan>;

/** Subscription statuses that count as paying. */
export const PAYING = new Set(['active', 'trialing']);
/** Statuses of a subscription whose payment failed and is not settled. */
export const FAILING = new Set(['past_due', 'unpaid']);
