import { Queue, Worker } from 'bullmq';
import { In } from 'typeorm';
import { Schedule } from '../kernel/core/entities';
import { fleetConfig, fleetPlugins } from '../test/provisioning/fixture';
import { startTestKernel, type TestKernel } from '../test/harness';
import type { Benchmark, BenchmarkReport, TargetCheck } from './lib/benchmark';
import { verdict } from './lib/benchmark';
import { sleep } from './lib/concurrency';
import { createServer, startInstantFleet, type ProvisionedServer } from './lib/fleet';
import { fixed, ms, step, table } from './lib/print';
import { deleteRedisKeys } from './lib/redis-keys';
import { percentile } from './lib/stats';
import { REDIS_URL } from './lib/zpack-process';

const SCHEDULES = 5_000;
const SERVERS = 10;
/** Schedule runs at once per worker process (management.schedules.concurrency). */
const CONCURRENCY = 16;
/** zpack's schedule path must keep at least this share of what bare BullMQ delivers on the same machine. */
const MINIMUM_RATIO = 0.05;

interface Firing {
  label: string;
  wallMs: number;
  lagMs: number[];
  tasks: number;
}

const redis = () => {
  const url = new URL(REDIS_URL);
  return { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
};

/**
 * The floor: the same number of no-op jobs all due at one instant (delayed to it), taken by two
 * bare BullMQ workers of the same concurrency; lag from that instant to each job's end.
 */
async function bareBullmq(prefix: string): Promise<Firing> {
  const queue = new Queue('bare-schedules', { connection: redis(), prefix });
  const lagMs: number[] = [];
  let due = 0;
  const workers = [0, 1].map(() => new Worker('bare-schedules', async () => { lagMs.push(Date.now() - due); }, { connection: redis(), prefix, concurrency: CONCURRENCY }));
  try {
    await Promise.all([queue.waitUntilReady(), ...workers.map((w) => w.waitUntilReady())]);
    due = Date.now() + 3000;
    for (let i = 0; i < SCHEDULES; i += 500) {
      await queue.addBulk(Array.from({ length: Math.min(500, SCHEDULES - i) }, (_, j) => ({ name: 'tick', data: { i: i + j }, opts: { delay: due - Date.now(), removeOnComplete: true } })));
    }
    while (lagMs.length < SCHEDULES) await sleep(50);
    return { label: 'bare BullMQ (no-op jobs due at one instant, 2 workers)', wallMs: Math.max(...lagMs), lagMs, tasks: SCHEDULES };
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await queue.close();
  }
}

/** 5,000 real schedules (a console command each) whose job schedulers all fire at the next minute, run by an API process and a schedule worker. */
async function zpackSchedules(a: TestKernel, servers: ProvisionedServer[]): Promise<Firing & { runs: number; distinct: number }> {
  const ds = a.kernel.ds;
  const rows = await ds.query(
    `INSERT INTO schedule (instance_id, name, cron, timezone, only_when_online, enabled, tasks)
     SELECT ($1::uuid[])[1 + (g % $2)], 'bench ' || g, '* * * * *', 'UTC', false, true, '[{"action":"command","payload":{"command":"say tick"},"delaySeconds":0,"continueOnFailure":false}]'::jsonb
     FROM generate_series(0, $3 - 1) g RETURNING id`, [servers.map((s) => s.id), servers.length, SCHEDULES]);
  const ids = (rows as Array<{ id: string }>).map((r) => r.id);
  const made = await ds.getRepository(Schedule).findBy({ id: In(ids) });
  // Upserted in time to fire at the minute after next at the latest; the scheduler names each tick once.
  const upserting = Date.now();
  for (let i = 0; i < made.length; i += 100) await Promise.all(made.slice(i, i + 100).map((s) => a.kernel.schedules.sync(s)));
  step(`${SCHEDULES} job schedulers upserted in ${ms(Date.now() - upserting, 0)}`);
  const minute = Math.ceil((Date.now() + 1000) / 60_000) * 60_000;
  step(`waiting for the minute ${new Date(minute).toISOString()} (${fixed((minute - Date.now()) / 1000)} s)`);
  const deadline = minute + 10 * 60_000;
  let done = 0;
  await sleep(Math.max(0, minute - Date.now() + 5000));
  // No second minute: every tick of this one is queued by now, and the schedulers go.
  await Promise.all(ids.map((id) => a.kernel.schedules.remove(id)));
  while (Date.now() < deadline) {
    await sleep(1000);
    [{ n: done }] = await ds.query(`SELECT count(*)::int AS n FROM schedule_run WHERE tick_at = $1 AND outcome <> 'running'`, [new Date(minute)]);
    if (done >= SCHEDULES) break;
  }
  const runs = (await ds.query(`SELECT schedule_id, tick_at, outcome, updated_at FROM schedule_run WHERE schedule_id = ANY($1::uuid[])`, [ids])) as Array<{ schedule_id: string; tick_at: Date; outcome: string; updated_at: Date }>;
  const atMinute = runs.filter((r) => r.tick_at.getTime() === minute);
  const lagMs = atMinute.map((r) => r.updated_at.getTime() - minute);
  return {
    label: `zpack: ${SCHEDULES} schedules, API process + schedule worker`, wallMs: Math.max(...lagMs), lagMs, tasks: atMinute.filter((r) => r.outcome === 'succeeded').length,
    runs: atMinute.length, distinct: new Set(atMinute.map((r) => r.schedule_id)).size,
  };
}

async function run(): Promise<BenchmarkReport> {
  const fleet = await startInstantFleet();
  let a: TestKernel | undefined;
  let b: TestKernel | undefined;
  try {
    // Production timings for agent calls and job locks (the test suite's are tuned for fast failure).
    const config = {
      management: { schedules: { concurrency: CONCURRENCY, maxPerServer: SCHEDULES } }, logging: { level: 'error' },
      queues: { lockDurationMs: 30_000, stalledIntervalMs: 30_000 }, plugins: { agent: { options: { timeoutMs: 15_000 } } },
    };
    a = await startTestKernel({ plugins: fleetPlugins, config: fleetConfig(fleet, config) });
    b = await startTestKernel({
      plugins: fleetPlugins, schema: a.schema, prefix: a.prefix,
      config: fleetConfig(fleet, { ...config, role: 'schedule-worker', database: { dropSchemaOnStop: false } }),
    });
    const user = await a.user();
    const servers: ProvisionedServer[] = [];
    for (let i = 0; i < SERVERS; i++) servers.push(await createServer(a.url, user.accessToken));
    step(`${SERVERS} running servers; ${SCHEDULES} schedules spread over them`);
    const bare = await bareBullmq(`${a.prefix}-bare`);
    step(`baseline: ${bare.tasks} jobs in ${ms(bare.wallMs, 0)}`);
    const zp = await zpackSchedules(a, servers);
    const rate = (f: Firing) => f.tasks / (f.wallMs / 1000);
    const exactlyOnce = zp.runs === SCHEDULES && zp.distinct === SCHEDULES && zp.tasks === SCHEDULES;
    const target: TargetCheck = {
      name: 'zpack schedule tasks/s ÷ bare BullMQ jobs/s', ratio: rate(zp) / rate(bare), minimum: MINIMUM_RATIO,
      invalid: exactlyOnce ? '' : `${zp.runs} runs, ${zp.distinct} distinct, ${zp.tasks} succeeded for ${SCHEDULES} schedules`,
    };
    console.log();
    table(['run', 'tasks', 'wall', 'tasks/s', 'lag p50', 'lag p99', 'result'], [
      [bare.label, String(bare.tasks), ms(bare.wallMs, 0), fixed(rate(bare)), ms(percentile(bare.lagMs, 50), 0), ms(percentile(bare.lagMs, 99), 0), ''],
      [zp.label, String(zp.tasks), ms(zp.wallMs, 0), fixed(rate(zp)), ms(percentile(zp.lagMs, 50), 0), ms(percentile(zp.lagMs, 99), 0), verdict(target)],
    ]);
    console.log(`\n  exactly once: ${zp.runs} runs for ${SCHEDULES} schedules at one tick, ${zp.distinct} distinct (schedule, tick), ${zp.tasks} succeeded`);
    console.log('  lag = from the scheduled minute to the run\'s result written (zpack) / the job\'s end (bare); each zpack task is a real console command through the agent simulator');
    console.log('  and its Postgres claim, activity entry and result; both sides share this machine with Postgres, Redis and the simulators.');
    return {
      targets: [target],
      figures: [
        { label: 'tasks/s (zpack / bare)', value: `${fixed(rate(zp))} / ${fixed(rate(bare))}` },
        { label: 'lag p50 / p99', value: `${ms(percentile(zp.lagMs, 50), 0)} / ${ms(percentile(zp.lagMs, 99), 0)}` },
        { label: 'runs per schedule', value: `${fixed(zp.runs / SCHEDULES, 2)} (${zp.distinct} distinct)` },
      ],
    };
  } finally {
    await b?.stop();
    await a?.stop();
    await fleet.stop();
    if (a) await deleteRedisKeys(a.prefix);
  }
}

export const schedules: Benchmark = {
  name: 'schedules',
  summary: `${SCHEDULES} schedules firing in the same minute across two workers: tasks/s, lag from the minute to the task (p50/p99), each fired exactly once; baseline bare BullMQ`,
  run,
};
