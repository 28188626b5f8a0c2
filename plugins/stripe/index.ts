import { Announcements, BillingGate, BillingProvider, ImportedAccountSection, Tokens, VetoError, definePlugin } from '../../kernel/api';
import { StripeAccountImport } from './import';
import type { PluginContext } from '../../kernel/api';
import { stripeConfig, type StripeConfig } from './config';
import { StripeConnection } from './connection';
import { Enforcement } from './enforcement';
import { StripeEvents } from './events';
import { StripeBilling1700000150000 } from './migrations/1700000150000-stripe-billing';
import { StripeBilling, StripeBillingGate } from './provider';
import { Reconciliation } from './reconcile';
import { billingRoutes } from './routes';
import { BillingStore } from './store';

export const ENFORCE_JOB = 'stripe.enforce';
export const RECONCILE_JOB = 'stripe.reconcile';
export const EFFECTS_JOB = 'stripe.effects';

/** Everything the plugin builds once its kernel's services exist (first use, after boot). */
export class StripeWiring {
  readonly store: BillingStore;
  readonly enforcement: Enforcement;
  readonly events: StripeEvents;
  readonly reconciliation: Reconciliation;
  readonly billing: StripeBilling;
  readonly gate: StripeBillingGate;

  constructor(ctx: PluginContext<StripeConfig>, readonly connection: StripeConnection, effects: (accountId: string) => Promise<void>) {
    const ds = ctx.resolve(Tokens.DataSource);
    const { config, logger } = ctx;
    const clock = () => ctx.resolve(Tokens.Clock);
    this.store = new BillingStore(ds);
    this.enforcement = new Enforcement({
      ds, config, store: this.store, clock, hooks: ctx.hooks, logger,
      power: () => ctx.resolve(Tokens.Power), instances: () => ctx.resolve(Tokens.Instances), notifications: () => ctx.resolve(Tokens.Notifications),
      announcements: () => ctx.resolveAll(Announcements)[0],
    });
    this.events = new StripeEvents({
      ds, store: this.store, enforcement: this.enforcement, client: () => connection.client, webhookSecret: () => connection.webhookSecret,
      clock, notifications: () => ctx.resolve(Tokens.Notifications), effects, logger,
    });
    this.reconciliation = new Reconciliation({
      ds, config, store: this.store, events: this.events, enforcement: this.enforcement, client: () => connection.client, clock, effects, logger,
    });
    this.billing = new StripeBilling(config, connection, this.store, () => this.events);
    this.gate = new StripeBillingGate(config, this.store);
  }
}

export default definePlugin({
  name: 'stripe',
  version: '1.0.0',
  kernelApi: '2',
  consumes: [{ port: Announcements, optional: true }],
  description: 'Plans, checkout and webhooks on Stripe, and the enforcement that stops (never deletes) an unpaid account\'s servers',
  config: stripeConfig,
  register(ctx) {
    const connection = new StripeConnection(ctx.config);
    const queue = ctx.queues.declare('enforcement', { workedBy: ['billing-worker'], concurrency: 2 });
    // Effects run on the billing worker; when the queue is unreachable the schedule still finds them pending.
    const effects = (accountId: string) => ctx.resolve(Tokens.Queues).enqueue(queue, EFFECTS_JOB, { accountId }).then(() => undefined, (err) => {
      ctx.logger.warn({ err, accountId }, 'billing effects not queued; the schedule runs them');
    });
    let wiring: StripeWiring | undefined;
    const wired = () => (wiring ??= new StripeWiring(ctx, connection, effects));
    ctx.provide(StripeConnection, () => connection);
    ctx.provide(StripeWiring, () => wired());
    ctx.provide(BillingGate, () => wired().gate);
    ctx.provide(BillingProvider, () => wired().billing);
    ctx.provide(ImportedAccountSection, () => new StripeAccountImport(() => Object.keys(ctx.config.plans)));
    ctx.migrations(StripeBilling1700000150000);

    ctx.jobs.define(ENFORCE_JOB, queue, async () => ({ advanced: await wired().enforcement.advanceDue() }));
    ctx.jobs.define(RECONCILE_JOB, queue, async () => wired().reconciliation.run());
    ctx.jobs.define<{ accountId: string }>(EFFECTS_JOB, queue, async ({ accountId }) => wired().enforcement.runEffects(accountId));

    ctx.hooks.beforeProvision.tapPromise(ctx.name, async (plan) => {
      const { account } = plan;
      if (!ctx.config.requirePlan || account.role === 'admin' || account.billingExempt) return plan;
      if (await wired().gate.entitlementsOf(account.id)) return plan;
      const plans = Object.keys(ctx.config.plans);
      throw new VetoError('forbidden', `Creating a server needs a plan: subscribe to one of ${plans.join(', ')} (POST /api/billing/checkout)`, 403, { plans, plan: null });
    });

    ctx.routes((r) => billingRoutes(r, () => ({ ...wired(), connection })));
  },
  async start(ctx) {
    await ctx.resolve(StripeConnection).open(ctx.logger, ctx.resolve(Tokens.Simulators), () => ctx.resolve(Tokens.Clock).now());
    const queues = ctx.resolve(Tokens.Queues);
    const queue = { name: `${ctx.name}.enforcement`, owner: ctx.name };
    // Not awaited: with Redis down the schedulers are upserted once it is back, and boot goes on.
    void Promise.all([queues.repeat(queue, ENFORCE_JOB, ctx.config.enforceEveryMs), queues.repeat(queue, RECONCILE_JOB, ctx.config.reconcileEveryMs)])
      .catch((err) => ctx.logger.warn({ err }, 'could not schedule the billing jobs'));
  },
  async stop(ctx) {
    await ctx.resolve(StripeConnection).close();
  },
});
