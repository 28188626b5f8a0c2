import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Client } from 'pg';
import { fleetConfig, fleetPlugins, gameBody } from '../test/provisioning/fixture';
import { startTestKernel, type TestKernel, type TestUser } from '../test/harness';
import type { Benchmark, BenchmarkReport, TargetCheck } from './lib/benchmark';
import { verdict } from './lib/benchmark';
import { callsBetween, countCalls, statementsBetween, type CallCounts } from './lib/call-counter';
import { elapsedMs, forEachConcurrently, sleep } from './lib/concurrency';
import { startInstantFleet, type Fleet } from './lib/fleet';
import { fixed, ms, step, table } from './lib/print';
import { deleteRedisKeys } from './lib/redis-keys';
import { measureTakeover, type Takeover } from './lib/takeover';
import { mean, percentile } from './lib/stats';
import { DATABASE_URL, REDIS_URL } from './lib/zpack-process';

const CREATES = 500;
const CLIENTS = 100;
/** provisioning.concurrency of the kernel, and the raw worker's concurrency. */
const WORKERS = 16;
const WARMUP_CREATES = 50;
const WARMUP_JOBS = 500;
const SEQUENTIAL_CREATES = 20;
const P99_LIMIT_MS = 50;
const MAX_OVERHEAD = 5;
const SETTLE_TIMEOUT_MS = 90_000;
const SETTLE_POLL_MS = 10;
const RAW_QUEUE = 'raw-round-trip';
/** What KernelQueues.enqueue gives every job, so a raw job costs Redis the same. */
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
  /** What the whole run cost this process (settle polling excluded), and the simulators' request counts. */
  calls: CallCounts & { proxmox: number; agent: number };
  /** SQL statements by kind, most frequent first (settle polling included: it is easy to spot). */
  statements: Array<[string, number]>;
}

interface RawRun {
  wallMs: number;
  latencyMs: number[];
  calls: CallCounts;
}

interface Instruments {
  calls: ReturnType<typeof countCalls>;
  /** Requests the agent simulator has logged so far (its own log keeps only the latest 1000). */
  agentRequests(): number;
}

const kernelConfig = (fleet: Fleet) => fleetConfig(fleet, {
  quota: { defaultMaxInstances: CREATES + WARMUP_CREATES + SEQUENTIAL_CREATES },
  provisioning: { readyPollMs: 5, readyTimeoutSeconds: 60, leaseSeconds: 30, concurrency: WORKERS },
  queues: { lockDurationMs: 30_000, stalledIntervalMs: 30_000 },
});

function instrument(fleet: Fleet): Instruments {
  let agent = 0;
  const log = fleet.agents.requests;
  const push = log.push;
  log.push = (...entries) => {
    agent += entries.length;
    return push.apply(log, entries);
  };
  return { calls: countCalls(), agentRequests: () => agent };
}

/** Every operation in a final state, polled straight from Postgres so the wait adds no HTTP load; returns the polls it made. */
async function settle(pg: Client, schema: string, ids: string[]): Promise<{ failed: number; latencyMs: number[]; polls: number }> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let polls = 0;
  for (;; polls++) {
    const [{ open }] = (await pg.query(
      `SELECT count(*)::int AS open FROM "${schema}".provisioning_operation WHERE id = ANY($1::uuid[]) AND state IN ('queued', 'running')`, [ids],
    )).rows;
    if (open === 0) break;
    if (Date.now() > deadline) throw new Error(`${open} of ${ids.length} operations still open after ${SETTLE_TIMEOUT_MS} ms`);
    await sleep(SETTLE_POLL_MS);
  }
  const rows = (await pg.query(
    `SELECT state, extract(epoch FROM updated_at - created_at) * 1000 AS ms FROM "${schema}".provisioning_operation WHERE id = ANY($1::uuid[])`, [ids],
  )).rows as Array<{ state: string; ms: string }>;
  return { failed: rows.filter((r) => r.state !== 'succeeded').length, latencyMs: rows.filter((r) => r.state === 'succeeded').map((r) => Number(r.ms)), polls: polls + 2 };
}

async function postCreate(tk: TestKernel, user: TestUser, key: string): Promise<{ ms: number; opId?: string; failure?: string }> {
  const sent = process.hrtime.bigint();
  try {
    const res = await fetch(`${tk.url}/api/instances`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(gameBody(key)),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (res.status === 202) return { ms: elapsedMs(sent), opId: JSON.parse(text).operation.id };
    return { ms: elapsedMs(sent), failure: `${res.status} ${text.slice(0, 200)}` };
  } catch (err) {
    return { ms: elapsedMs(sent), failure: (err as Error).message };
  }
}

/** `count` creates from `clients` closed-loop clients, client n acting for account n; then waits for every operation. */
async function runCreates(tk: TestKernel, pg: Client, fleet: Fleet, tools: Instruments, users: TestUser[], count: number, clients: number, label: string): Promise<CreateRun> {
  const acceptMs: number[] = [];
  const failures: string[] = [];
  const ids: string[] = [];
  const before = { ...tools.calls.read(), proxmox: fleet.proxmox.requests.length, agent: tools.agentRequests() };
  const statementsBefore = tools.calls.statements();
  const started = process.hrtime.bigint();
  await forEachConcurrently(count, clients, async (i, client) => {
    const answer = await postCreate(tk, users[client % users.length], `${label}-${i}`);
    acceptMs.push(answer.ms);
    if (answer.opId) ids.push(answer.opId);
    else failures.push(answer.failure!);
  });
  const acceptWallMs = elapsedMs(started);
  const settled = await settle(pg, tk.schema, ids);
  const settleWallMs = elapsedMs(started);
  const spent = callsBetween(before, tools.calls.read());
  return {
    acceptMs, failures, acceptWallMs, settleWallMs, failedOps: settled.failed, opLatencyMs: settled.latencyMs,
    calls: { ...spent, sql: spent.sql - settled.polls, proxmox: fleet.proxmox.requests.length - before.proxmox, agent: tools.agentRequests() - before.agent },
    statements: statementsBetween(statementsBefore, tools.calls.statements()),
  };
}

function redisConnection() {
  const url = new URL(REDIS_URL);
  return { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
}

/** The floor: Queue.add, a no-op Worker of the same concurrency, completion seen through QueueEvents, CLIENTS producers. */
async function rawRoundTrips(prefix: string, jobs: number, tools: Instruments): Promise<RawRun> {
  const queue = new Queue(RAW_QUEUE, { connection: redisConnection(), prefix });
  queue.setMaxListeners(CLIENTS * 2);
  const worker = new Worker(RAW_QUEUE, async () => undefined, { connection: redisConnection(), prefix, concurrency: WORKERS });
  const events = new QueueEvents(RAW_QUEUE, { connection: redisConnection(), prefix });
  try {
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady(), events.waitUntilReady()]);
    const latencyMs: number[] = [];
    const before = tools.calls.read();
    const started = process.hrtime.bigint();
    await forEachConcurrently(jobs, CLIENTS, async (i) => {
      const sent = process.hrtime.bigint();
      const job = await queue.add('noop', { operationId: `raw-${i}` }, { ...JOB_OPTIONS, jobId: randomUUID() });
      await job.waitUntilFinished(events, 30_000);
      latencyMs.push(elapsedMs(sent));
    });
    return { wallMs: elapsedMs(started), latencyMs, calls: callsBetween(before, tools.calls.read()) };
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

const rawRow = (label: string, r: RawRun) => [
  label, String(r.latencyMs.length), ms(r.wallMs, 0), ms(r.wallMs / r.latencyMs.length, 2), fixed(r.latencyMs.length / r.wallMs * 1000),
  ms(percentile(r.latencyMs, 50)), ms(percentile(r.latencyMs, 99)),
];

/** Where an operation's time goes, next to a raw job's: remote calls and CPU of this process per item. */
function printCosts(run: CreateRun, raw: RawRun[], sequential: CreateRun): void {
  const per = (n: number, items: number) => fixed(n / items, 1);
  const rawJobs = raw.reduce((s, r) => s + r.latencyMs.length, 0);
  const rawSum = (k: keyof CallCounts) => raw.reduce((s, r) => s + r.calls[k], 0);
  console.log('\n  cost per item (this process; Postgres and Redis work on top of it):');
  table(
    ['', 'SQL statements', 'Redis commands', 'Proxmox calls', 'agent calls', 'CPU ms'],
    [
      ['raw BullMQ job', per(rawSum('sql'), rawJobs), per(rawSum('redis'), rawJobs), '0', '0', fixed(rawSum('cpuMs') / rawJobs, 2)],
      ['kernel create → succeeded', per(run.calls.sql, CREATES), per(run.calls.redis, CREATES), per(run.calls.proxmox, CREATES), per(run.calls.agent, CREATES), fixed(run.calls.cpuMs / CREATES, 2)],
    ],
  );
  console.log('\n  most frequent SQL statements per operation:');
  for (const [text, n] of run.statements.slice(0, 8)) console.log(`  ${fixed(n / CREATES, 1).padStart(5)}  ${text}`);
  const acceptRate = CREATES / run.acceptWallMs * 1000;
  console.log(`\n  one client, ${SEQUENTIAL_CREATES} creates in a row (their provisioning runs alongside): 202: p50 ${ms(percentile(sequential.acceptMs, 50))}, max ${ms(Math.max(...sequential.acceptMs))}`);
  console.log(`  Little's law: ${CLIENTS} requests in flight at ${fixed(acceptRate)} accepted/s means ${ms(CLIENTS / acceptRate * 1000, 0)} per request on average;`);
  console.log(`  a p99 under ${P99_LIMIT_MS} ms with ${CLIENTS} always in flight needs more than ${fixed(CLIENTS / P99_LIMIT_MS * 1000)} creates/s.`);
  console.log(`  this process used ${fixed(run.calls.cpuMs / run.settleWallMs * 100)}% of one core during the run (kernel, both simulators and the ${CLIENTS} clients share its event loop):`);
  console.log(`  at ${ms(run.calls.cpuMs / CREATES, 1)} of CPU per operation one event loop tops out near ${fixed(CREATES / run.calls.cpuMs * 1000)} operations/s.`);
}

function report(run: CreateRun, rawBefore: RawRun, rawAfter: RawRun, sequential: CreateRun, takeover: Takeover): BenchmarkReport {
  const p50 = percentile(run.acceptMs, 50);
  const p99 = percentile(run.acceptMs, 99);
  const kernelPerOp = run.settleWallMs / CREATES;
  const rawPerJob = mean([rawBefore.wallMs, rawAfter.wallMs]) / CREATES;
  const overhead = kernelPerOp / rawPerJob;
  const invalid = [problems(run), problems(sequential)].filter(Boolean).join('; ');
  const latencyCheck: TargetCheck = { name: `${P99_LIMIT_MS} ms / 202 p99 (${CLIENTS} concurrent)`, ratio: P99_LIMIT_MS / p99, minimum: 1, invalid };
  const overheadCheck: TargetCheck = { name: 'raw BullMQ time per job / kernel time per op', ratio: 1 / overhead, minimum: 1 / MAX_OVERHEAD, invalid };

  console.log();
  table(
    ['run', 'items', 'wall', 'per item', 'items/s', 'latency p50', 'latency p99'],
    [
      rawRow('raw BullMQ round trips (before)', rawBefore),
      rawRow('raw BullMQ round trips (after)', rawAfter),
      ['POST /api/instances → 202', String(run.acceptMs.length), ms(run.acceptWallMs, 0), ms(run.acceptWallMs / CREATES, 2), fixed(CREATES / run.acceptWallMs * 1000), ms(p50), ms(p99)],
      ['create → operation succeeded', String(run.opLatencyMs.length), ms(run.settleWallMs, 0), ms(kernelPerOp, 2), fixed(CREATES / run.settleWallMs * 1000, 1), ms(percentile(run.opLatencyMs, 50), 0), ms(percentile(run.opLatencyMs, 99), 0)],
    ],
  );
  console.log(`\n  202 at ${CLIENTS} concurrent: p50 ${ms(p50)}, p99 ${ms(p99)}, max ${ms(Math.max(...run.acceptMs))} (target p99 < ${P99_LIMIT_MS} ms): ${verdict(latencyCheck)}`);
  console.log(`  end to end: ${fixed(CREATES / run.settleWallMs * 1000, 1)} operations/s (${CLIENTS} clients, ${WORKERS} provision workers)`);
  console.log(`  overhead = kernel time per operation (first POST → last operation succeeded, ÷ ${CREATES})`);
  console.log(`           ÷ raw BullMQ time per job (first add → last job completed, ÷ ${CREATES}; same clients, same worker concurrency; mean of before/after)`);
  console.log(`           = ${ms(kernelPerOp, 2)} ÷ ${ms(rawPerJob, 2)} = ${fixed(overhead, 1)}x (target <= ${MAX_OVERHEAD}x): ${verdict(overheadCheck)}`);
  if (invalid) console.log(`  ! the run does not count: ${invalid}`);
  printCosts(run, [rawBefore, rawAfter], sequential);
  console.log(`\n  takeover: a provision worker killed (SIGKILL) mid-create; another worker took the operation over after ${ms(takeover.ms, 0)}`);
  console.log(`  (lease ${takeover.leaseSeconds} s renewed every ${fixed(takeover.leaseSeconds / 3, 1)} s, queue lock ${takeover.lockDurationMs} ms, stalled check every ${takeover.stalledIntervalMs} ms; one run, not a distribution)`);
  return {
    targets: [latencyCheck, overheadCheck],
    figures: [
      { label: '202 p50 / p99', value: `${ms(p50)} / ${ms(p99)}` },
      { label: 'operations/s end to end', value: fixed(CREATES / run.settleWallMs * 1000, 1) },
      { label: 'kernel per op / raw BullMQ per job', value: `${ms(kernelPerOp, 2)} / ${ms(rawPerJob, 2)} = ${fixed(overhead, 1)}x` },
      { label: 'takeover after a worker is killed', value: ms(takeover.ms, 0) },
    ],
  };
}

async function run(): Promise<BenchmarkReport> {
  const fleet = await startInstantFleet();
  let tk: TestKernel | undefined;
  let tools: Instruments | undefined;
  const pg = new Client({ connectionString: DATABASE_URL });
  try {
    tk = await startTestKernel({ plugins: fleetPlugins, config: kernelConfig(fleet) });
    await pg.connect();
    const accounts = await users(tk, CLIENTS);
    step(`kernel on ${tk.url} (schema ${tk.schema}), ${CLIENTS} accounts, proxmox taskMs 0, agent bootMs 0, ${WORKERS} provision workers, all in this process`);
    tools = instrument(fleet);
    const rawPrefix = `${tk.prefix}:raw`;
    await rawRoundTrips(rawPrefix, WARMUP_JOBS, tools);
    const rawBefore = await rawRoundTrips(rawPrefix, CREATES, tools);
    step(`raw BullMQ: ${CREATES} round trips in ${ms(rawBefore.wallMs, 0)}`);
    const warm = await runCreates(tk, pg, fleet, tools, accounts, WARMUP_CREATES, CLIENTS, 'warm');
    step(`warm-up: ${WARMUP_CREATES} creates settled in ${ms(warm.settleWallMs, 0)}${problems(warm) ? ` (${problems(warm)})` : ''}`);
    const sequential = await runCreates(tk, pg, fleet, tools, accounts, SEQUENTIAL_CREATES, 1, 'one');
    step(`one client: ${SEQUENTIAL_CREATES} creates in a row, settled in ${ms(sequential.settleWallMs, 0)}`);
    const measured = await runCreates(tk, pg, fleet, tools, accounts, CREATES, CLIENTS, 'bench');
    step(`${CREATES} creates: last 202 after ${ms(measured.acceptWallMs, 0)}, all settled after ${ms(measured.settleWallMs, 0)}`);
    const rawAfter = await rawRoundTrips(rawPrefix, CREATES, tools);
    step(`raw BullMQ again: ${CREATES} round trips in ${ms(rawAfter.wallMs, 0)}`);
    const takeover = await measureTakeover();
    step(`takeover: another worker adopted a killed worker's create after ${ms(takeover.ms, 0)}`);
    return report(measured, rawBefore, rawAfter, sequential, takeover);
  } finally {
    tools?.calls.stop();
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
