import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import stripePlugin from '../plugins/stripe';
import { stripePluginConfig, subscribe, testStripe, TEST_WEBHOOK_SECRET } from '../plugins/stripe/testing/fixture';
import type { SimulatedEvent, StripeSimulator } from '../plugins/stripe/testing/simulator';
import { startTestKernel, type TestKernel } from '../test/harness';
import type { Benchmark, BenchmarkReport, TargetCheck } from './lib/benchmark';
import { verdict } from './lib/benchmark';
import { elapsedMs, forEachConcurrently } from './lib/concurrency';
import { fixed, ms, step, table } from './lib/print';
import { deleteRedisKeys } from './lib/redis-keys';
import { percentile } from './lib/stats';

const POSTS = 2_000;
const DUPLICATE_SHARE = 0.2;
const OUT_OF_ORDER_SHARE = 0.1;
const CONCURRENCY = 50;
const ACCOUNTS = 40;
/** The webhook route reads the subscription from Stripe and writes in a transaction; verifying alone does neither. */
const MINIMUM_RATIO = 0.05;

interface Run {
  label: string;
  posts: number;
  durationMs: number;
  latencyMs: number[];
  failures: string[];
  /** Answers that said the event was new (the webhook route only). */
  fresh: number;
}

/** 2,000 deliveries: every unique event once, 20% of the posts repeats of one, 10% of positions swapped. */
function schedule(events: SimulatedEvent[]): SimulatedEvent[] {
  const posts = [...events];
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  while (posts.length < POSTS) posts.splice(Math.floor(random() * posts.length), 0, events[Math.floor(random() * events.length)]);
  for (let i = 0; i < POSTS * OUT_OF_ORDER_SHARE / 2; i++) {
    const a = Math.floor(random() * posts.length);
    const b = Math.floor(random() * posts.length);
    [posts[a], posts[b]] = [posts[b], posts[a]];
  }
  return posts;
}

async function post(url: string, sim: StripeSimulator, events: SimulatedEvent[], label: string): Promise<Run> {
  const latencyMs: number[] = [];
  const failures: string[] = [];
  let fresh = 0;
  const started = process.hrtime.bigint();
  await forEachConcurrently(events.length, CONCURRENCY, async (i) => {
    const { payload, signature } = sim.sign(events[i]);
    const sent = process.hrtime.bigint();
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signature }, body: payload });
    const body = (await res.json().catch(() => ({}))) as { duplicate?: boolean };
    latencyMs.push(elapsedMs(sent));
    if (res.status !== 200) failures.push(`${res.status} ${JSON.stringify(body).slice(0, 120)}`);
    else if (body.duplicate === false) fresh++;
  });
  return { label, posts: events.length, durationMs: elapsedMs(started), latencyMs, failures, fresh };
}

/** The baseline: a bare node server that only runs the SDK's constructEvent on each body. */
async function verifyOnlyServer(): Promise<{ url: string; server: Server }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
      try {
        const event = Stripe.webhooks.constructEvent(Buffer.concat(chunks), String(req.headers['stripe-signature']), TEST_WEBHOOK_SECRET, 300);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ received: true, id: event.id }));
      } catch {
        res.writeHead(400).end('{}');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

async function run(): Promise<BenchmarkReport> {
  const { sim, target } = testStripe();
  await sim.start();
  let tk: TestKernel | undefined;
  const baseline = await verifyOnlyServer();
  try {
    tk = await startTestKernel({ plugins: [stripePlugin], config: { plugins: stripePluginConfig(sim, { enforceEveryMs: 60_000 }) } });
    target.url = tk.url;
    const users = [];
    for (let i = 0; i < ACCOUNTS; i++) {
      const user = await tk.user();
      users.push({ user, subscription: (await subscribe(sim, user)).id });
    }
    await sim.idle();
    // The events to deliver: failed and paid renewals in turn, held back by the simulator.
    sim.delivery.paused = true;
    const uniqueTarget = Math.round(POSTS * (1 - DUPLICATE_SHARE));
    for (let round = 0; sim.held.length < uniqueTarget; round++) {
      const { subscription } = users[round % ACCOUNTS];
      if (Math.floor(round / ACCOUNTS) % 2 === 0) sim.world.renew(subscription, 'failed');
      else sim.world.payOpenInvoices(subscription);
    }
    const unique = sim.held.splice(0, uniqueTarget);
    sim.held.length = 0;
    const posts = schedule(unique);
    step(`${ACCOUNTS} paying accounts; ${unique.length} unique events in ${posts.length} posts (${posts.length - unique.length} repeats, ~${OUT_OF_ORDER_SHARE * 100}% out of order), ${CONCURRENCY} concurrent`);

    const before = await post(baseline.url, sim, posts, 'verify only (baseline)');
    const logBefore = Number((await tk.kernel.ds.query(`SELECT count(*) AS n FROM stripe_event_log`))[0].n);
    const webhooks = await post(`${tk.url}/api/billing/webhook`, sim, posts, 'POST /api/billing/webhook');
    const logged = Number((await tk.kernel.ds.query(`SELECT count(*) AS n FROM stripe_event_log WHERE event_id = ANY($1)`, [unique.map((e) => e.id)]))[0].n);
    const logAfter = Number((await tk.kernel.ds.query(`SELECT count(*) AS n FROM stripe_event_log`))[0].n);
    // Each account ends as Stripe holds its subscription now, whatever order the events came in.
    const wrong: string[] = [];
    for (const { user, subscription } of users) {
      const status = sim.world.subscriptions.get(subscription)!.status;
      const [row] = await tk.kernel.ds.query(`SELECT subscription_status, state FROM billing_account WHERE account_id = $1`, [user.id]);
      const expected = status === 'active' ? 'active' : 'warning';
      if (row.subscription_status !== status || row.state !== expected) wrong.push(`${user.id}: ${row.subscription_status}/${row.state}, Stripe says ${status}`);
    }

    const rate = (r: Run) => r.posts / r.durationMs * 1000;
    const invalid = [
      webhooks.failures.length && `${webhooks.failures.length} posts failed (${webhooks.failures[0]})`,
      webhooks.fresh !== unique.length && `${webhooks.fresh} applied, ${unique.length} unique`,
      logged !== unique.length && `${logged} of ${unique.length} unique events logged`,
      logAfter - logBefore !== unique.length && `${logAfter - logBefore} rows added for ${unique.length} unique events`,
      wrong.length && `${wrong.length} accounts in the wrong state (${wrong[0]})`,
      before.failures.length && `baseline: ${before.failures.length} failed`,
    ].filter(Boolean).join('; ');
    const check: TargetCheck = { name: 'webhook events/s / verify-only events/s', ratio: rate(webhooks) / rate(before), minimum: MINIMUM_RATIO, invalid };
    console.log();
    table(['receiver', 'posts', 'duration', 'events/s', 'p50', 'p99', 'applied', 'result'], [before, webhooks].map((r) => [
      r.label, String(r.posts), ms(r.durationMs, 0), fixed(rate(r)), ms(percentile(r.latencyMs, 50)), ms(percentile(r.latencyMs, 99)),
      r === webhooks ? `${r.fresh} / ${unique.length} unique` : '-', r === webhooks ? verdict(check) : '(baseline)',
    ]));
    console.log(`\n  each new event: one transaction (log row, account row locked, subscription read from the simulator, state written); a repeat is one SELECT`);
    console.log(`  the simulator, the kernel and this load generator share the machine's cores`);
    return {
      targets: [check],
      figures: [
        { label: 'webhook events/s', value: fixed(rate(webhooks)) },
        { label: 'webhook p99', value: ms(percentile(webhooks.latencyMs, 99)) },
        { label: 'unique applied / logged', value: `${webhooks.fresh} / ${logged} of ${unique.length}` },
      ],
    };
  } finally {
    await tk?.stop();
    await sim.stop();
    await new Promise((r) => baseline.server.close(r));
    if (tk) await deleteRedisKeys(tk.prefix);
  }
}

export const webhooks: Benchmark = {
  name: 'webhooks',
  summary: '2,000 signed Stripe events (20% repeats, 10% out of order) posted 50 at a time; exactly the unique ones applied',
  run,
};
