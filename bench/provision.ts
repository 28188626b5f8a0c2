import { availableParallelism, loadavg } from 'node:os';
import { Client } from 'pg';
import type { Benchmark, BenchmarkReport, TargetCheck } from './lib/benchmark';
import { verdict } from './lib/benchmark';
import type { ProbedCalls } from './lib/call-probe';
import { closedLoopCreates, openLoopCreates, settle, type CreateLoad, type Settled } from './lib/create-load';
import { forEachConcurrently } from './lib/concurrency';
import { fleetPluginOptions, signUp, startInstantFleet, type Fleet } from './lib/fleet';
import { fixed, ms, step, table } from './lib/print';
import { cpuMsBetween, cpuMsByPid, processCpuMs } from './lib/process-cpu';
import { rawRoundTrips, type RawRun } from './lib/raw-bullmq';
import { percentile } from './lib/stats';
import { measureTakeover, type Takeover } from './lib/takeover';
import { DATABASE_URL, startZpack, type ZpackProcess } from './lib/zpack-process';

const ACCOUNTS = 40;
/** Open loop: creates per second, and how many (5 s of them). */
const RATE = 100;
const OPEN_LOOP_CREATES = 500;
/** Saturation: as many creates as the kernel takes, from this many closed-loop clients. */
const SATURATION_CREATES = 500;
const SATURATION_CLIENTS = 100;
const WARMUP_CREATES = 50;
/** provisioning.concurrency of the worker process, and the raw BullMQ worker's. */
const WORKER_CONCURRENCY = 16;
const RAW_JOBS = 500;
const P99_LIMIT_MS = 50;
const CPU_LIMIT_MS = 5;
const SQL_LIMIT = 15;
const MIN_RATE = 200;
const SETTLE_TIMEOUT_MS = 120_000;

const kernelConfig = {
  quota: { defaultMaxInstances: 10_000 },
  provisioning: {
    vmidRange: { min: 5000, max: 8999 }, portRange: { min: 25565, max: 33564 },
    readyPollMs: 5, readyTimeoutSeconds: 60, leaseSeconds: 30, concurrency: WORKER_CONCURRENCY,
  },
  queues: { lockDurationMs: 30_000, stalledIntervalMs: 30_000 },
};

interface Kernel {
  api: ZpackProcess;
  worker: ZpackProcess;
}

/** What the kernel's two processes, and the rest of the machine's work for them, spent over one run. */
interface Spent {
  cpuMs: { api: number; worker: number };
  calls: { api: ProbedCalls; worker: ProbedCalls };
  /** Postgres (every backend), Redis, and this process (the simulators and the clients). */
  rest: { postgres: number; redis: number; bench: number };
}

/** A reading of the machine's other processes that serve the creates. */
interface RestReading {
  postgres: Map<number, number>;
  redis: Map<number, number>;
  benchUs: number;
}

/** `ownBackend`: the Postgres backend of the bench's own polling connection, not counted as the kernel's Postgres. */
function restReading(ownBackend: number): RestReading {
  const self = process.cpuUsage();
  const postgres = cpuMsByPid(['postgres']);
  postgres.delete(ownBackend);
  return { postgres, redis: cpuMsByPid(['redis-server']), benchUs: self.user + self.system };
}

interface Run {
  label: string;
  load: CreateLoad;
  settled: Settled;
  /** First request sent → every operation finished. */
  wallMs: number;
  creates: number;
  spent: Spent;
  /** 1-minute load average of the machine when the run ended. */
  load1: number;
}

async function reading(k: Kernel): Promise<Omit<Spent, 'rest'>> {
  const [api, worker] = await Promise.all([k.api.calls(), k.worker.calls()]);
  return { cpuMs: { api: processCpuMs(k.api.pid) ?? NaN, worker: processCpuMs(k.worker.pid) ?? NaN }, calls: { api, worker } };
}

function callsBetween(before: ProbedCalls, after: ProbedCalls): ProbedCalls {
  const was = new Map(before.statements);
  return {
    sql: after.sql - before.sql,
    redis: after.redis - before.redis,
    statements: after.statements.map(([t, n]): [string, number] => [t, n - (was.get(t) ?? 0)]).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]),
  };
}

/** Runs `fire`, waits until every accepted operation finished, and reads what the kernel's processes spent meanwhile. */
async function measure(k: Kernel, pg: Client, label: string, fire: () => Promise<CreateLoad>): Promise<Run> {
  const ownBackend = (await pg.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
  const restBefore = restReading(ownBackend);
  const before = await reading(k);
  const started = performance.now();
  const load = await fire();
  const ids = load.answers.flatMap((a) => (a.opId ? [a.opId] : []));
  const settled = await settle(pg, k.api.schema, ids, SETTLE_TIMEOUT_MS);
  const wallMs = performance.now() - started;
  const after = await reading(k);
  const restAfter = restReading(ownBackend);
  const spent: Spent = {
    rest: {
      postgres: cpuMsBetween(restBefore.postgres, restAfter.postgres),
      redis: cpuMsBetween(restBefore.redis, restAfter.redis),
      bench: (restAfter.benchUs - restBefore.benchUs) / 1000,
    },
    cpuMs: { api: after.cpuMs.api - before.cpuMs.api, worker: after.cpuMs.worker - before.cpuMs.worker },
    calls: { api: callsBetween(before.calls.api, after.calls.api), worker: callsBetween(before.calls.worker, after.calls.worker) },
  };
  return { label, load, settled, wallMs, creates: ids.length, spent, load1: loadavg()[0] };
}

const cpuPer = (r: Run) => (r.spent.cpuMs.api + r.spent.cpuMs.worker) / r.creates;
/** Everything a create costs the machine: the kernel, Postgres, Redis, the simulators and the clients. */
const machinePer = (r: Run) => cpuPer(r) + (r.spent.rest.postgres + r.spent.rest.redis + r.spent.rest.bench) / r.creates;
/** What this machine's cores could sustain at that cost, if every one of them did nothing else. */
const CORES = availableParallelism();
const ceilingPer = (r: Run) => (CORES * 1000) / machinePer(r);
const sqlPer = (r: Run) => (r.spent.calls.api.sql + r.spent.calls.worker.sql) / r.creates;
const ratePer = (r: Run) => r.creates / r.wallMs * 1000;
const accepted = (r: Run) => r.load.answers.map((a) => a.ms);

function problems(r: Run): string {
  const refused = r.load.answers.filter((a) => a.failure);
  return [refused.length && `${refused.length} creates not accepted (${refused[0].failure})`, r.settled.failed && `${r.settled.failed} operations failed`]
    .filter(Boolean).join('; ');
}

function printRuns(runs: Run[], raw: RawRun): void {
  console.log();
  table(
    ['run', 'creates', 'first POST → all succeeded', 'creates/s', '202 p50', '202 p99', 'send lag p99', 'op p50', 'op p99', 'load avg'],
    [
      ['raw BullMQ round trips (baseline)', String(raw.latencyMs.length), ms(raw.wallMs, 0), fixed(raw.latencyMs.length / raw.wallMs * 1000),
        '', '', '', ms(percentile(raw.latencyMs, 50)), ms(percentile(raw.latencyMs, 99)), fixed(raw.load1, 2)],
      ...runs.map((r) => [
        r.label, String(r.creates), ms(r.wallMs, 0), fixed(ratePer(r), 1), ms(percentile(accepted(r), 50)), ms(percentile(accepted(r), 99)),
        ms(percentile(r.load.answers.map((a) => a.lagMs), 99)), ms(percentile(r.settled.latencyMs, 50), 0), ms(percentile(r.settled.latencyMs, 99), 0), fixed(r.load1, 2),
      ]),
    ],
  );
  console.log('\n  cost per create → succeeded (kernel processes only; the simulators and clients run in the bench process):');
  const per = (n: number, r: Run) => fixed(n / r.creates, 1);
  table(
    ['run', 'process', 'CPU ms', 'SQL statements', 'Redis commands'],
    runs.flatMap((r) => [
      [r.label, 'api', fixed(r.spent.cpuMs.api / r.creates, 2), per(r.spent.calls.api.sql, r), per(r.spent.calls.api.redis, r)],
      ['', 'provision-worker', fixed(r.spent.cpuMs.worker / r.creates, 2), per(r.spent.calls.worker.sql, r), per(r.spent.calls.worker.redis, r)],
      ['', 'kernel (both)', fixed(cpuPer(r), 2), fixed(sqlPer(r), 1), per(r.spent.calls.api.redis + r.spent.calls.worker.redis, r)],
      ['', 'Postgres (the kernel\'s backends)', fixed(r.spent.rest.postgres / r.creates, 2), '', ''],
      ['', 'Redis', fixed(r.spent.rest.redis / r.creates, 2), '', ''],
      ['', 'simulators + clients', fixed(r.spent.rest.bench / r.creates, 2), '', ''],
      ['', 'the machine, all of it', fixed(machinePer(r), 2), '', ''],
    ]),
  );
  console.log(`  raw BullMQ job, for scale: ${fixed(raw.cpuMs / raw.latencyMs.length, 2)} ms CPU and ${fixed(raw.redis / raw.latencyMs.length, 1)} Redis commands (producer, worker and events in one process)`);
  const r = runs[0];
  for (const [name, calls] of [['api', r.spent.calls.api], ['provision-worker', r.spent.calls.worker]] as const) {
    console.log(`\n  SQL statements per create, ${name} (${r.label}):`);
    for (const [text, n] of calls.statements.slice(0, 10)) console.log(`  ${fixed(n / r.creates, 2).padStart(6)}  ${text}`);
  }
}

function report(open: Run, saturated: Run, raw: RawRun, takeover: Takeover): BenchmarkReport {
  const p99 = percentile(accepted(open), 99);
  const invalidOpen = problems(open);
  const invalidSaturated = problems(saturated);
  const checks: TargetCheck[] = [
    { name: `${P99_LIMIT_MS} ms / 202 p99 (open loop, ${RATE} creates/s)`, ratio: P99_LIMIT_MS / p99, minimum: 1, invalid: invalidOpen },
    { name: `${CPU_LIMIT_MS} ms / kernel CPU per create`, ratio: CPU_LIMIT_MS / cpuPer(open), minimum: 1, invalid: invalidOpen },
    { name: `${SQL_LIMIT} / SQL statements per create`, ratio: SQL_LIMIT / sqlPer(open), minimum: 1, invalid: invalidOpen },
    { name: `creates/s sustained / ${MIN_RATE}`, ratio: ratePer(saturated) / MIN_RATE, minimum: 1, invalid: invalidSaturated },
  ];
  printRuns([open, saturated], raw);
  console.log(`\n  method: zpack api and zpack provision-worker (concurrency ${WORKER_CONCURRENCY}) each in its own process, one schema and Redis prefix;`);
  console.log('  zero-latency Proxmox and agent simulators and the clients in the bench process. CPU = utime + stime of the two kernel');
  console.log('  processes from /proc, first POST → every operation succeeded; SQL statements and Redis commands counted inside them');
  console.log('  by a --require\'d probe (lib/call-probe.ts). 202 latency counts from when the request was due, so a slow answer is not hidden by');
  console.log(`  a late send; "send lag" is how late the bench process itself was. ${ACCOUNTS} accounts; a round-robin account per create.`);
  console.log(`\n  (a) 202 p99 at ${RATE} creates/s (open loop): ${ms(p99)} (target < ${P99_LIMIT_MS} ms): ${verdict(checks[0])}`);
  console.log(`  (b) kernel CPU per create → succeeded: ${ms(cpuPer(open), 2)} (api ${ms(open.spent.cpuMs.api / open.creates, 2)} + worker ${ms(open.spent.cpuMs.worker / open.creates, 2)}; target <= ${CPU_LIMIT_MS} ms): ${verdict(checks[1])}`);
  console.log(`      (saturated run: ${ms(cpuPer(saturated), 2)}; the open loop is judged, since past what the kernel sustains its queueing costs CPU too)`);
  console.log(`  (c) SQL statements per create: ${fixed(sqlPer(open), 1)} (target <= ${SQL_LIMIT}): ${verdict(checks[2])}`);
  console.log(`  (d) sustained: ${fixed(ratePer(saturated), 1)} creates/s from ${SATURATION_CLIENTS} closed-loop clients (target >= ${MIN_RATE}): ${verdict(checks[3])}`);
  console.log(`      the ceiling: a create costs the machine ${ms(machinePer(saturated), 2)} of CPU in all (kernel ${ms(cpuPer(saturated), 2)}, Postgres ${ms(saturated.spent.rest.postgres / saturated.creates, 2)},`);
  console.log(`      Redis ${ms(saturated.spent.rest.redis / saturated.creates, 2)}, simulators and clients ${ms(saturated.spent.rest.bench / saturated.creates, 2)}), so ${CORES} cores doing nothing else sustain at most ${fixed(ceilingPer(saturated), 0)} creates/s`);
  for (const invalid of [invalidOpen, invalidSaturated].filter(Boolean)) console.log(`  ! the run does not count: ${invalid}`);
  console.log(`\n  takeover: a provision worker killed (SIGKILL) mid-create; another worker took the operation over after ${ms(takeover.ms, 0)}`);
  console.log(`  (lease ${takeover.leaseSeconds} s renewed every ${fixed(takeover.leaseSeconds / 3, 1)} s, queue lock ${takeover.lockDurationMs} ms, stalled check every ${takeover.stalledIntervalMs} ms; one run, not a distribution)`);
  return {
    targets: checks,
    figures: [
      { label: `202 p50 / p99 at ${RATE}/s`, value: `${ms(percentile(accepted(open), 50))} / ${ms(p99)}` },
      { label: 'kernel CPU / SQL per create (open loop; saturated)', value: `${ms(cpuPer(open), 2)} / ${fixed(sqlPer(open), 1)}; ${ms(cpuPer(saturated), 2)} / ${fixed(sqlPer(saturated), 1)}` },
      { label: 'creates/s sustained (raw BullMQ jobs/s)', value: `${fixed(ratePer(saturated), 1)} (${fixed(raw.latencyMs.length / raw.wallMs * 1000)})` },
      { label: `machine CPU per create, saturated (${CORES} cores' ceiling)`, value: `${ms(machinePer(saturated), 2)} (${fixed(ceilingPer(saturated), 0)} creates/s)` },
      { label: 'load average (open / saturated)', value: `${fixed(open.load1, 2)} / ${fixed(saturated.load1, 2)}` },
      { label: 'takeover after a worker is killed', value: ms(takeover.ms, 0) },
    ],
  };
}

async function startKernel(fleet: Fleet): Promise<Kernel> {
  const plugins = fleetPluginOptions(fleet);
  const api = await startZpack({ role: 'api', plugins, config: kernelConfig, probe: true });
  try {
    const worker = await startZpack({ role: 'provision-worker', plugins, config: kernelConfig, probe: true, joining: api });
    return { api, worker };
  } catch (err) {
    await api.stop();
    throw err;
  }
}

async function run(): Promise<BenchmarkReport> {
  const fleet = await startInstantFleet();
  const pg = new Client({ connectionString: DATABASE_URL });
  let kernel: Kernel | undefined;
  try {
    kernel = await startKernel(fleet);
    await pg.connect();
    const { api, worker } = kernel;
    const tokens: string[] = [];
    await forEachConcurrently(ACCOUNTS, 4, async () => void tokens.push(await signUp(api.url)));
    step(`zpack api pid ${api.pid} on :${api.port}, zpack provision-worker pid ${worker.pid} (schema ${api.schema}); ${ACCOUNTS} accounts; load average ${fixed(loadavg()[0], 2)}`);
    const raw = await rawRoundTrips(`${api.prefix}:raw`, RAW_JOBS, WORKER_CONCURRENCY, SATURATION_CLIENTS);
    step(`raw BullMQ: ${RAW_JOBS} round trips in ${ms(raw.wallMs, 0)}`);
    const warm = await measure(kernel, pg, 'warm-up', () => closedLoopCreates(api.url, tokens, 10, WARMUP_CREATES, 'warm'));
    step(`warm-up: ${WARMUP_CREATES} creates settled in ${ms(warm.wallMs, 0)}${problems(warm) ? ` (${problems(warm)})` : ''}`);
    const open = await measure(kernel, pg, `open loop, ${RATE}/s`, () => openLoopCreates(api.url, tokens, RATE, OPEN_LOOP_CREATES, 'open'));
    step(`open loop: ${OPEN_LOOP_CREATES} creates at ${RATE}/s, all settled after ${ms(open.wallMs, 0)} (load average ${fixed(open.load1, 2)})`);
    const saturated = await measure(kernel, pg, `saturated, ${SATURATION_CLIENTS} clients`, () => closedLoopCreates(api.url, tokens, SATURATION_CLIENTS, SATURATION_CREATES, 'sat'));
    step(`saturated: ${SATURATION_CREATES} creates, all settled after ${ms(saturated.wallMs, 0)} (load average ${fixed(saturated.load1, 2)})`);
    await worker.stop();
    await api.stop();
    kernel = undefined;
    const takeover = await measureTakeover();
    step(`takeover: another worker adopted a killed worker's create after ${ms(takeover.ms, 0)}`);
    return report(open, saturated, raw, takeover);
  } finally {
    await pg.end().catch(() => undefined);
    await kernel?.worker.stop();
    await kernel?.api.stop();
    await fleet.stop();
  }
}

export const provision: Benchmark = {
  name: 'provision',
  summary: `zpack api + provision-worker processes, zero-latency simulators: 202 p99 at ${RATE} creates/s open loop (< ${P99_LIMIT_MS} ms), `
    + `kernel CPU (<= ${CPU_LIMIT_MS} ms) and SQL statements (<= ${SQL_LIMIT}) per create, sustained creates/s (>= ${MIN_RATE})`,
  run,
};
