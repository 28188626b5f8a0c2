import os from 'node:os';
import { Tokens } from '../kernel/api';
import discordPlugin from '../plugins/discord';
import { discordConfig } from '../plugins/discord/config';
import { DiscordNotifier } from '../plugins/discord/notifier';
import { DiscordSimulator } from '../plugins/discord/testing/simulator';
import emailPlugin from '../plugins/email';
import { emailConfig } from '../plugins/email/config';
import { EmailNotifier } from '../plugins/email/notifier';
import { SmtpSink } from '../plugins/email/testing/smtp-sink';
import { startTestKernel } from '../test/harness';
import type { Benchmark, BenchmarkReport, TargetCheck } from './lib/benchmark';
import { verdict } from './lib/benchmark';
import { fixed, ms, step, table } from './lib/print';
import { deleteRedisKeys } from './lib/redis-keys';
import { percentile } from './lib/stats';

const MESSAGES = 10_000;
/** Every fourth message is an operator notice to Discord, the rest owner mail over SMTP. */
const DISCORD_EVERY = 4;
/** Deliveries at once: the outbox's queue concurrency, and the baseline's parallel senders. */
const CONCURRENCY = 16;
/** Outbox throughput must reach this share of sending straight to the notifiers. */
const MIN_RATIO = 0.5;
const FROM = 'zpack <bench@zpack.test>';

interface Pass {
  seconds: number;
  latencies: number[];
  problem: string;
}

const isDiscord = (i: number) => i % DISCORD_EVERY === 0;
const mailTo = (run: string, i: number) => `${run}-${i}@bench.test`;
const noticeSubject = (run: string, i: number) => `${run} ${i}`;

/** Exactly once: each message arrived, none twice, nothing else. */
function check(run: string, sink: SmtpSink, sim: DiscordSimulator): string {
  const mails = sink.messages.filter((m) => m.to[0]?.startsWith(`${run}-`)).map((m) => m.to[0]);
  const notices = sim.messages.filter((m) => m.content.startsWith(`**${run} `)).map((m) => m.content);
  const expectedMails = Array.from({ length: MESSAGES }, (_, i) => i).filter((i) => !isDiscord(i)).length;
  const problems = [
    mails.length !== expectedMails && `${mails.length} mails for ${expectedMails}`,
    new Set(mails).size !== mails.length && `${mails.length - new Set(mails).size} mails twice`,
    notices.length !== MESSAGES - expectedMails && `${notices.length} Discord notices for ${MESSAGES - expectedMails}`,
    new Set(notices).size !== notices.length && `${notices.length - new Set(notices).size} notices twice`,
  ].filter(Boolean);
  return problems.join('; ');
}

/** Latency of each message from the moment it was handed over to its arrival at the sink or simulator. */
function latencies(run: string, handedAt: number[], sink: SmtpSink, sim: DiscordSimulator): number[] {
  const out: number[] = [];
  for (const m of sink.messages) {
    const i = Number(/-(\d+)@/.exec(m.to[0] ?? '')?.[1]);
    if (m.to[0]?.startsWith(`${run}-`)) out.push(m.at - handedAt[i]);
  }
  for (const m of sim.messages) {
    const i = Number(new RegExp(`^\\*\\*${run} (\\d+)\\*\\*`).exec(m.content)?.[1]);
    if (Number.isFinite(i)) out.push(m.at - handedAt[i]);
  }
  return out;
}

async function waitUntil(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** In batches of `CONCURRENCY`, as the outbox's workers deliver. */
async function inParallel(count: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < count) await work(next++);
  }));
}

async function run(): Promise<BenchmarkReport> {
  const sink = await new SmtpSink().start();
  const sim = new DiscordSimulator();
  await sim.start();
  const tk = await startTestKernel({
    plugins: [emailPlugin, discordPlugin],
    config: {
      notifications: { concurrency: CONCURRENCY, backoffBaseMs: 200, backoffMaxMs: 2000, sweepIntervalSeconds: 5 },
      plugins: {
        email: { enabled: true, options: { from: FROM, transport: 'smtp', smtp: { port: sink.port, timeoutMs: 5000 } } },
        discord: { enabled: true, options: { simulate: false, webhooks: { ops: sim.webhook('ops'), support: sim.webhook('support') } } },
      },
    },
  });
  try {
    step(`kernel in schema ${tk.schema}; SMTP sink on ${sink.port}, Discord simulator at ${sim.url}; ${MESSAGES} messages, 1 in ${DISCORD_EVERY} to Discord`);

    // Baseline: the same notifiers called straight, no outbox, no queue.
    const email = new EmailNotifier(emailConfig.parse({ from: FROM, transport: 'smtp', smtp: { port: sink.port, timeoutMs: 5000 } }));
    const discordOptions = discordConfig.parse({ webhooks: { ops: sim.webhook('ops'), support: sim.webhook('support') } });
    const discord = new DiscordNotifier(discordOptions, () => discordOptions.webhooks);
    const rawHanded: number[] = [];
    const rawStart = Date.now();
    await inParallel(MESSAGES, async (i) => {
      rawHanded[i] = Date.now();
      if (isDiscord(i)) await discord.send({ to: 'ops', template: 'bench', subject: noticeSubject('raw', i), text: 'direct' });
      else await email.send({ to: mailTo('raw', i), template: 'bench', subject: 'bench', text: 'direct' });
    });
    const raw: Pass = { seconds: (Date.now() - rawStart) / 1000, latencies: latencies('raw', rawHanded, sink, sim), problem: check('raw', sink, sim) };
    step(`baseline: ${MESSAGES} sent straight in ${fixed(raw.seconds, 1)} s`);

    // Through the outbox: a row, a job, a claimed delivery, each.
    const notifications = tk.kernel.resolve(Tokens.Notifications);
    const handed: number[] = [];
    const start = Date.now();
    await inParallel(MESSAGES, async (i) => {
      handed[i] = Date.now();
      if (isDiscord(i)) await notifications.sendToOperators('ops', { template: 'bench', subject: noticeSubject('outbox', i), text: 'queued' });
      else await notifications.sendToOwner({ to: mailTo('outbox', i), template: 'bench', subject: 'bench', text: 'queued' });
    });
    const queuedSeconds = (Date.now() - start) / 1000;
    const arrived = () => sink.messages.filter((m) => m.to[0]?.startsWith('outbox-')).length + sim.messages.filter((m) => m.content.startsWith('**outbox ')).length;
    await waitUntil(() => arrived() >= MESSAGES, 600_000);
    const seconds = (Date.now() - start) / 1000;
    // Late duplicates would land now: give the sweep and any retry a moment before counting.
    await new Promise((r) => setTimeout(r, 6000));
    const [{ sent }] = await tk.kernel.ds.query(`SELECT count(*)::int AS sent FROM notification WHERE state = 'sent'`);
    const outbox: Pass = {
      seconds, latencies: latencies('outbox', handed, sink, sim),
      problem: [check('outbox', sink, sim), sent !== MESSAGES && `${sent} outbox rows sent`].filter(Boolean).join('; '),
    };
    step(`outbox: ${MESSAGES} queued in ${fixed(queuedSeconds, 1)} s; ${arrived()} arrived after ${fixed(seconds, 1)} s`);

    const rate = (p: Pass) => MESSAGES / p.seconds;
    const target: TargetCheck = { name: 'outbox msgs/s / direct msgs/s', ratio: rate(outbox) / rate(raw), minimum: MIN_RATIO, invalid: [raw.problem, outbox.problem].filter(Boolean).join('; ') };
    console.log();
    table(['path', 'msgs/s', 'p50 handed → arrived', 'p99 handed → arrived', 'exactly once'], [raw, outbox].map((p, n) => [
      n === 0 ? 'direct to the notifiers' : 'through the outbox', fixed(rate(p), 0), ms(percentile(p.latencies, 50)), ms(percentile(p.latencies, 99)), p.problem || 'yes',
    ]));
    console.log(`\n  outbox / direct throughput ${fixed(target.ratio, 2)} (target >= ${MIN_RATIO}): ${verdict(target)}`);
    console.log('  The outbox adds a row, a BullMQ job and two UPDATEs per message; both paths share the pooled SMTP transport and the');
    console.log(`  webhook client, ${CONCURRENCY} deliveries at once. All ${MESSAGES} are handed over as fast as they are accepted, so the`);
    console.log('  outbox latency is mostly time spent waiting behind the backlog; the direct path has no backlog to wait behind.');
    console.log(`  1-minute load average at the end: ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores.`);
    return {
      targets: [target],
      figures: [
        { label: 'outbox msgs/s', value: fixed(rate(outbox), 0) },
        { label: 'outbox p99 queue → delivery', value: ms(percentile(outbox.latencies, 99)) },
        { label: 'direct msgs/s', value: fixed(rate(raw), 0) },
        { label: 'exactly once', value: outbox.problem || 'yes' },
      ],
    };
  } finally {
    await tk.stop();
    await deleteRedisKeys(tk.prefix);
    await sink.stop();
    await sim.stop();
  }
}

export const notifications: Benchmark = {
  name: 'notifications',
  summary: `${MESSAGES} notifications through the outbox to an SMTP sink and the Discord simulator vs the same sent straight to the notifiers (target >= ${MIN_RATIO}x msgs/s; exactly once checked)`,
  run,
};
