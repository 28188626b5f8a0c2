import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Client } from 'pg';
import { fleetPlugins, fleetConfig, gameBody } from '../test/provisioning/fixture';
import { startTestKernel, type TestKernel, type TestUser } from '../test/harness';
import type { Benchmark, BenchmarkReport, TargetCheck } from './lib/benchmark';
import { verdict } from './lib/benchmark';
import { elapsedMs, forEachConcurrently, sleep } from './lib/concurrency';
import { startInstantFleet, type Fleet } from './lib/fleet';
import { fixed, ms, step, table } from './lib/print';
import { deleteRedisKeys } from './lib/redis-keys';
import { mean, percentile } from './lib/stats';
import { DATABASE_URL, REDIS_URL } from './lib/zpack-process';

const CREATES = 500;
const CLIENTS = 100;
/** provisioning.concurrency of the kernel, and the raw worker's concurrency. */
const WORKERS = 16;
const WARMUP_CREATES = 50;
const P99_LIMIT_MS = 50;
const MAX_OVERHEAD = 5;
const SETTLE_TIMEOUT_MS = 90_000;
const RAW_QUEUE = 'raw-round-trip';
/** What KernelQueues.enqueue gives every job, so the raw jobs cost Redis the same. */
const JOB_OPTIONS = { attempts: 1, removeOnComplete: { age: 3600, count: 5000 }, removeOnFail: { age: 7 * 24 * 3600 } };

interface CreateRun {
  acceptMs: number[];
  failures: string[];
  /** First POST sent → last 202 received. */
  acceptWallMs: number;
  /** First POST sent → every operation finished. */
  settleWallMs: number;
  failedOps: number;
  /** Per operation, created_at → finished (Postgres clock). */
  opLatencyMs: number[];
}

interface RawRun {
  wallMs: number;
  latencyMs: number[];
}

const kernelConfig = (fleet: Fleet) => fleetConfig(fleet, {
  quota: { defaultMaxInstances: CREATES + WARMUP_CREATES },
  provisioning: { readyPollMs: 5, readyTimeoutSeconds: 60, leaseSeconds: 30, concurrency: WORKERS },
  queues: { lockDurationMs: 30_000, stalledIntervalMs: 30_000 },
});

/** Every operation in a final state, polled straight from Postgres so the wait adds no HTTP load. */
async function settle(pg: Client, schema: string, ids: string[]): Promise<{ failed: number; latencyMs: number[] }> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const [{ open }] = (await pg.query(
      `SELECT count(*)::int AS open FROM "${schema}".provisioning_operation WHERE id = ANY($1::uuid[]) AND state IN ('queued', 'running')`, [ids],
    )).rows;
    if (open === 0) break;
    if (Date.now() > deadline) throw new Error(`${open} of ${ids.length} operations still open after ${SETTLE_TIMEOUT_MS} ms`);
    await sleep(10);
  }
  const rows = (await pg.query(
    `SELECT state, extract(epoch FROM updated_at - created_at) * 1000 AS ms FROM "${schema}".provisioning_operation WHERE id = ANY($1::uuid[])`, [ids],
  )).rows as Array<{ state: string; ms: string }>;
  return { failed: rows.filter((r) => r.state !== 'succeeded').length, latencyMs: rows.filter((r) => r.state === 'succeeded').map((r) => Number(r.ms)) };
}

/** `count` creates from CLIENTS closed-loop clients, client n acting for account n; then waits for every operation. */
export async function runCreates(tk: TestKernel, pg: Client, users: TestUser[], count: number, label: string): Promise<CreateRun> {
  const acceptMs: number[] = [];
  const failures: string[] = [];
  const ids: string[] = [];
  const started = process.hrtime.bigint();
  await forEachConcurrently(count, CLIENTS, async (i, client) => {
    const sent = process.hrtime.bigint();
    const res = await fetch(`${tk.url}/api/instances`, {
      method: 'POST',
      headers: { authorization: `Bearer ${users[client % users.length].accessToken}`, 'content-type': 'application/json', 'idempotency-key': `${label}-${i}` },
      body: JSON.stringify(gameBody(`${label} ${i}`)),
      signal: AbortSignal.timeout(30_000),
    }).catch((err: Error) => err);
    if (res instanceof Error) return void failures.push(res.message);
    const text = await res.text();
    acceptMs.push(elapsedMs(sent));
    if (res.status === 202) ids.push(JSON.parse(text).operation.id);
    else failures.push(`${res.status} ${text.slice(0, 200)}`);
  });
  const acceptWallMs = elapsedMs(started);
  const settled = await settle(pg, tk.schema, ids);
  return { acceptMs, failures, acceptWallMs, settleWallMs: elapsedMs(started), failedOps: settled.failed, opLatencyMs: settled.latencyMs };
}

function redisConnection() {
  const url = new URL(REDIS_URL);
  return { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
}

/** The floor: Queue.add, a no-op Worker (same concurrency), completion seen through QueueEvents, CLIENTS producers. */
async function rawRoundTrips(prefix: string, jobs: number): Promise<RawRun> {
  const queue = new Queue(RAW_QUEUE, { connection: redisConnection(), prefix });
  const worker = new Worker(RAW_QUEUE, async () => undefined, { connection: redisConnection(), prefix, concurrency: WORKERS });
  const events = new QueueEvents(RAW_QUEUE, { connection: redisConnection(), prefix });
  try {
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady(), events.waitUntilReady()]);
    const latencyMs: number[] = [];
    const started = process.hrtime.bigint();
    await forEachConcurrently(jobs, CLIENTS, async (i) => {
      const sent = process.hrtime.bigint();
      const job = await queue.add('noop', { operationId: `raw-${i}` }, { ...JOB_OPTIONS, jobId: randomUUID() });
      await job.waitUntilFinished(events, 30_000);
      latencyMs.push(elapsedMs(sent));
    });
    return { wallMs: elapsedMs(started), latencyMs };
  } finally {
    await worker.close();
    await events.close();
    await queue.close();
  }
}

async function users(tk: TestKernel, count: number): Promise<TestUser[]> {
  const out: TestUser[] = [];
  await forEachConcurrently(count, 8, async () => void out.push(await tk.user()));
  return out;
}

function problems(run: CreateRun): string {
  return [run.failures.length && `${run.failures.length} creates not accepted (${run.failures[0]})`, run.failedOps && `${run.failedOps} operations failed`]
    .filter(Boolean).join('; ');
}

function report(run: CreateRun, rawBefore: RawRun, rawAfter: RawRun): BenchmarkReport {
  const p50 = percentile(run.acceptMs, 50);
  const p99 = percentile(run.acceptMs, 99);
  const kernelPerOp = run.settleWallMs / CREATES;
  const rawPerJob = mean([rawBefore.wallMs, rawAfter.wallMs]) / CREATES;
  const overhead = kernelPerOp / rawPerJob;
  const invalid = problems(run);
  const latencyCheck: TargetCheck = { name: `${P99_LIMIT_MS} ms / 202 p99 (${CLIENTS} concurrent)`, ratio: P99_LIMIT_MS / p99, minimum: 1, invalid };
  const overheadCheck: TargetCheck = { name: 'raw BullMQ time per job / kernel time per op', ratio: 1 / overhead, minimum: 1 / MAX_OVERHEAD, invalid };

  console.log();
  table(
    ['run', 'items', 'wall', 'per item', 'items/s', 'latency p50', 'latency p99'],
    [
      ['raw BullMQ round trips (before)', String(CREATES), ms(rawBefore.wallMs, 0), ms(rawBefore.wallMs / CREATES, 2), fixed(CREATES / rawBefore.wallMs * 1000), ms(percentile(rawBefore.latencyMs, 50)), ms(percentile(rawBefore.latencyMs, 99))],
      ['raw BullMQ round trips (after)', String(CREATES), ms(rawAfter.wallMs, 0), ms(rawAfter.wallMs / CREATES, 2), fixed(CREATES / rawAfter.wallMs * 1000), ms(percentile(rawAfter.latencyMs, 50)), ms(percentile(rawAfter.latencyMs, 99))],
      ['POST /api/instances → 202', String(run.acceptMs.length), ms(run.acceptWallMs, 0), ms(run.acceptWallMs / CREATES, 2), fixed(CREATES / run.acceptWallMs * 1000), ms(p50), ms(p99)],
      ['create → operation succeeded', String(run.opLatencyMs.length), ms(run.settleWallMs, 0), ms(kernelPerOp, 2), fixed(CREATES / run.settleWallMs * 1000), ms(percentile(run.opLatencyMs, 50), 0), ms(percentile(run.opLatencyMs, 99), 0)],
    ],
  );
  console.log(`\n  202 latency at ${CLIENTS} concurrent: p50 ${ms(p50)}, p99 ${ms(p99)}, max ${ms(Math.max(...run.acceptMs))} (target p99 < ${P99_LIMIT_MS} ms): ${verdict(latencyCheck)}`);
  console.log(`  end to end: ${fixed(CREATES / run.settleWallMs * 1000, 1)} operations/s (${CLIENTS} clients, ${WORKERS} provision workers)`);
  console.log(`  overhead = kernel time per operation (first POST → last operation succeeded, ÷ ${CREATES})`);
  console.log(`             ÷ raw time per job (first add → last job completed, ÷ ${CREATES}, same clients and worker concurrency)`);
  console.log(`           = ${ms(kernelPerOp, 2)} ÷ ${ms(rawPerJob, 2)} = ${fixed(overhead, 1)}x (target <= ${MAX_OVERHEAD}x): ${verdict(overheadCheck)}`);
  if (invalid) console.log(`  ! the run does not count: ${invalid}`);
  return {
    targets: [latencyCheck, overheadCheck],
    figures: [
      { label: '202 p50 / p99', value: `${ms(p50)} / ${ms(p99)}` },
      { label: 'operations/s end to end', value: fixed(CREATES / run.settleWallMs * 1000, 1) },
      { label: 'kernel per op / raw BullMQ per job', value: `${ms(kernelPerOp, 2)} / ${ms(rawPerJob, 2)} = ${fixed(overhead, 1)}x` },
    ],
  };
}

async function run(): Promise<BenchmarkReport> {
  const fleet = await startInstantFleet();
  let tk: TestKernel | undefined;
  const pg = new Client({ connectionString: DATABASE_URL });
  try {
    tk = await startTestKernel({ plugins: fleetPlugins, config: kernelConfig(fleet) });
    await pg.connect();
    const accounts = await users(tk, CLIENTS);
    step(`kernel on ${tk.url} (schema ${tk.schema}), ${CLIENTS} accounts, proxmox taskMs 0, agent bootMs 0, ${WORKERS} provision workers`);
    const rawPrefix = `${tk.prefix}:raw`;
    await rawRoundTrips(rawPrefix, 100);
    const rawBefore = await rawRoundTrips(rawPrefix, CREATES);
    step(`raw BullMQ: ${CREATES} round trips in ${ms(rawBefore.wallMs, 0)}`);
    const warm = await runCreates(tk, pg, accounts, WARMUP_CREATES, 'warm');
    step(`warm-up: ${WARMUP_CREATES} creates settled in ${ms(warm.settleWallMs, 0)}${problems(warm) ? ` (${problems(warm)})` : ''}`);
    const measured = await runCreates(tk, pg, accounts, CREATES, 'bench');
    step(`${CREATES} creates: last 202 after ${ms(measured.acceptWallMs, 0)}, all settled after ${ms(measured.settleWallMs, 0)}`);
    const rawAfter = await rawRoundTrips(rawPrefix, CREATES);
    step(`raw BullMQ again: ${CREATES} round trips in ${ms(rawAfter.wallMs, 0)}`);
    const result = report(measured, rawBefore, rawAfter);
    return result;
  } finally {
    await pg.end().catch(() => undefined);
    await tk?.stop();
    await fleet.stop();
    if (tk) await deleteRedisKeys(tk.prefix);
  }
}

export const provision: Benchmark = {
  name: 'provision',
  summary: `${CREATES} creates via POST /api/instances, ${CLIENTS} concurrent, zero-latency simulators: 202 p99 (target < ${P99_LIMIT_MS} ms) and time per operation vs a raw BullMQ round trip (target <= ${MAX_OVERHEAD}x)`,
  run,
};
