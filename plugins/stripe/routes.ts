import { z } from 'zod';
import type { Context } from 'koa';
import { InvalidRequestError, nullableTimestamp, PayloadTooLargeError } from '../../kernel/api';
import type { ApiRouter } from '../../kernel/api';
import type { StripeConnection } from './connection';
import { WEBHOOK_PATH } from './connection';
import type { StripeEvents } from './events';
import type { StripeBilling } from './provider';
import type { BillingStore } from './store';

/** Stripe's events are a few kilobytes; an unauthenticated route takes no more than this. */
const WEBHOOK_BODY_LIMIT = 256 * 1024;
const PAGE = { default: 50, max: 200 };
/** Stripe answers at most 100 invoices per call. */
const STRIPE_PAGE_MAX = 100;

const states = z.enum(['active', 'warning', 'final_warning', 'suspended']);
const billingView = z.object({
  plan: z.string().nullable(),
  subscriptionStatus: z.string().nullable(),
  enforcement: z.object({ state: states, since: nullableTimestamp(), nextStepAt: nullableTimestamp() }),
  exempt: z.boolean(),
  announcement: z.object({ severity: z.enum(['info', 'warning', 'critical']), title: z.string(), message: z.string(), at: z.string() }).nullable()
    .meta({ description: 'What the portal shows about billing now, or null' }),
});
const urlView = z.object({ url: z.string() });
const invoiceView = z.object({
  id: z.string(), number: z.string().nullable(), status: z.string().nullable(), amountDue: z.number().int(), amountPaid: z.number().int(),
  currency: z.string(), createdAt: z.string(), hostedInvoiceUrl: z.string().nullable(),
});
const invoicesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(PAGE.max).default(PAGE.default).meta({ description: 'Items per page' }),
  cursor: z.string().regex(/^[A-Za-z0-9_-]{1,200}$/, 'is not a cursor this API issued').optional()
    .meta({ description: 'The nextCursor of the previous page; absent for the first page' }),
});

export interface BillingRouteDeps {
  billing: StripeBilling;
  store: BillingStore;
  events: StripeEvents;
  connection: StripeConnection;
}

/** `deps` is read per request: the plugin's services exist only once the kernel has booted. */
export function billingRoutes(r: ApiRouter, deps: () => BillingRouteDeps): void {
  r.route({
    method: 'get', path: '/api/billing', summary: 'Your plan, subscription status and enforcement state', auth: 'user', tags: ['billing'],
    operationId: 'getBilling', responses: { 200: billingView },
    handler: async ({ account }) => {
      const row = await deps().store.row(account.id);
      const exempt = account.billingExempt || account.role === 'admin';
      return {
        body: {
          plan: row?.plan ?? null, subscriptionStatus: row?.subscriptionStatus ?? null,
          enforcement: exempt || !row ? { state: 'active' as const, since: row?.stateSince ?? null, nextStepAt: null }
            : { state: row.state, since: row.stateSince, nextStepAt: row.nextStepAt },
          exempt, announcement: exempt ? null : row?.announcement ?? null,
        },
      };
    },
  });

  r.route({
    method: 'post', path: '/api/billing/checkout', summary: 'A Stripe Checkout page for a plan (409 with the portal URL when you already pay)', auth: 'user',
    tags: ['billing'], operationId: 'createCheckout', responses: { 200: urlView }, errors: [409, 502, 503],
    body: z.object({ plan: z.string().min(1).max(64).meta({ description: 'A plan name from configuration (vanilla, modded, heavy …)' }) }),
    handler: async ({ account, body }) => ({ body: await deps().billing.createCheckout(account, body.plan) }),
  });

  r.route({
    method: 'post', path: '/api/billing/portal', summary: 'A Stripe Customer Portal page: payment method, invoices, plan changes', auth: 'user',
    tags: ['billing'], operationId: 'createBillingPortal', responses: { 200: urlView }, errors: [502, 503],
    handler: async ({ account }) => ({ body: await deps().billing.portal(account) }),
  });

  r.route({
    method: 'get', path: '/api/billing/invoices', summary: 'Your invoices, newest first (from Stripe)', auth: 'user', tags: ['billing'],
    operationId: 'listInvoices', responses: { 200: z.object({ invoices: z.array(invoiceView), nextCursor: z.string().nullable() }) }, errors: [502, 503],
    query: invoicesQuery,
    handler: async ({ account, query }) => {
      const { store, connection } = deps();
      const customer = (await store.row(account.id))?.customerId;
      if (!customer) return { body: { invoices: [], nextCursor: null } };
      const collected: z.input<typeof invoiceView>[] = [];
      let after = query.cursor;
      let more = true;
      while (more && collected.length < query.limit) {
        const page = await connection.client.invoices(customer, Math.min(STRIPE_PAGE_MAX, query.limit - collected.length), after);
        collected.push(...page.invoices.map((i) => ({ ...i, createdAt: i.createdAt.toISOString() })));
        more = page.hasMore;
        after = collected.at(-1)?.id;
      }
      return { body: { invoices: collected, nextCursor: more ? after ?? null : null } };
    },
  });

  r.route({
    method: 'post', path: WEBHOOK_PATH, summary: 'Stripe events (Stripe-Signature over the raw body; a repeated event id is acknowledged and ignored)',
    auth: 'none', tags: ['billing'], operationId: 'receiveStripeEvent', rawBody: 'application/json', errors: [413],
    headers: z.object({ 'Stripe-Signature': z.string().meta({ description: 'Required: t=<unix time>,v1=<HMAC-SHA256>; older than 300 s is refused' }) }),
    responses: { 200: z.object({ received: z.literal(true), duplicate: z.boolean(), outcome: z.string() }) },
    handler: async ({ koa }) => {
      const raw = await readRaw(koa);
      const { events } = deps();
      const event = events.verify(raw, koa.get('stripe-signature') || undefined);
      const result = await events.ingest(event as any, 'webhook');
      return { body: { received: true as const, ...result } };
    },
  });
}

/** The exact bytes Stripe signed, bounded. */
async function readRaw(koa: Context): Promise<Buffer> {
  if (Number(koa.get('content-length') || 0) > WEBHOOK_BODY_LIMIT) throw new PayloadTooLargeError(WEBHOOK_BODY_LIMIT);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of koa.req) {
    size += (chunk as Buffer).length;
    if (size > WEBHOOK_BODY_LIMIT) throw new PayloadTooLargeError(WEBHOOK_BODY_LIMIT);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) throw new InvalidRequestError('The body is empty');
  return Buffer.concat(chunks);
}
