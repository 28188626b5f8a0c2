import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import type { Benchmark, BenchmarkReport, TargetCheck } from './lib/benchmark';
import { verdict } from './lib/benchmark';
import { warmThenLoad, type LoadResult } from './lib/load';
import { fixed, ms, step, table } from './lib/print';
import { freePort, spawnServer, type ServerProcess } from './lib/server-process';
import { mean, median } from './lib/stats';
import { DATABASE_URL, startZpack, type ZpackProcess } from './lib/zpack-process';

const CONNECTIONS = 100;
const WARMUP_SECONDS = 2;
const MEASURE_SECONDS = 8;
const COLD_STARTS = 3;
const TARGETS = { healthz: 0.6, me: 0.3, list: 0.25 };
/** The account whose list is read holds this many servers, and reads them as one page. */
const LIST_SERVERS = 100;
const LIST_ROUTE = `/api/servers?limit=${LIST_SERVERS}`;
/** Before/after baselines further apart than this (relative to their mean) mean a neighbour took the CPU. */
const DRIFT_WARNING = 0.2;

interface Row {
  label: string;
  result: LoadResult;
  minimum?: number;
}

/** Bare koa answering `{ ok: true }`, or the JSON in `jsonFile` to every request. */
async function startBareKoa(jsonFile?: string): Promise<ServerProcess> {
  const port = await freePort();
  return spawnServer({
    name: 'bare koa', args: [path.join(__dirname, 'bare-koa.js'), String(port), ...(jsonFile ? [jsonFile] : [])],
    env: { ...process.env }, port, readyPath: '/healthz',
  });
}

/** Registers and logs in a fresh account through the public API; returns its access token. */
async function accessToken(baseUrl: string): Promise<string> {
  const credentials = { email: `bench-${randomBytes(4).toString('hex')}@example.test`, password: randomBytes(12).toString('base64url') };
  const post = (p: string) => fetch(baseUrl + p, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(credentials), signal: AbortSignal.timeout(10_000),
  });
  const registered = await post('/api/auth/register');
  if (registered.status !== 201) throw new Error(`register answered ${registered.status}: ${await registered.text()}`);
  const login = await post('/api/auth/login');
  if (login.status !== 200) throw new Error(`login answered ${login.status}: ${await login.text()}`);
  const { accessToken: token } = (await login.json()) as { accessToken: string };
  const me = await fetch(`${baseUrl}/api/me`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  if (me.status !== 200) throw new Error(`GET /api/me answered ${me.status}: ${await me.text()}`);
  return token;
}

/**
 * Gives the token's account LIST_SERVERS servers, written straight into the zpack's schema
 * (its quota raised to match), and returns the page zpack answers for them.
 */
async function seedServers(zpack: ZpackProcess, token: string): Promise<unknown> {
  const auth = { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) };
  const { user } = (await (await fetch(`${zpack.url}/api/me`, auth)).json()) as { user: { id: string } };
  const db = new Client({ connectionString: DATABASE_URL });
  await db.connect();
  try {
    await db.query(`UPDATE "${zpack.schema}".account SET max_instances = $2 WHERE id = $1`, [user.id, LIST_SERVERS]);
    await db.query(
      `INSERT INTO "${zpack.schema}".instance (owner_id, kind, type, name, state, vmid, node, ports)
       SELECT $1, 'game', 'minecraft', 'bench-' || n, 'running', 5000 + n, 'pve1',
              jsonb_build_array(jsonb_build_object('name', 'game', 'port', 25565 + n, 'protocol', 'tcp'))
         FROM generate_series(1, $2) AS n`,
      [user.id, LIST_SERVERS],
    );
  } finally {
    await db.end();
  }
  const res = await fetch(zpack.url + LIST_ROUTE, auth);
  const page = (await res.json()) as { servers: unknown[] };
  if (res.status !== 200 || page.servers.length !== LIST_SERVERS) throw new Error(`GET ${LIST_ROUTE} answered ${res.status} with ${page.servers?.length} servers`);
  return page;
}

/** zpack's one-page list of LIST_SERVERS servers against bare koa serving the same JSON from memory, before and after. */
async function listThroughput(zpack: ZpackProcess, token: string): Promise<Row[]> {
  const file = path.join(tmpdir(), `zpack-bench-list-${randomBytes(4).toString('hex')}.json`);
  writeFileSync(file, JSON.stringify(await seedServers(zpack, token)));
  const bare = await startBareKoa(file);
  try {
    step(`bare koa pid ${bare.pid} on :${bare.port} serves the same ${LIST_SERVERS}-server page from memory`);
    const before = await measure(`bare koa GET ${LIST_ROUTE}`, bare, LIST_ROUTE);
    const list = await measure(`zpack GET ${LIST_ROUTE}`, zpack, LIST_ROUTE, { authorization: `Bearer ${token}` });
    const after = await measure(`bare koa GET ${LIST_ROUTE} (again)`, bare, LIST_ROUTE);
    return [
      { label: 'bare koa list (before)', result: before },
      { label: 'bare koa list (after)', result: after },
      { label: `zpack /api/servers (${LIST_SERVERS})`, result: list, minimum: TARGETS.list },
    ];
  } finally {
    await bare.stop();
    rmSync(file, { force: true });
  }
}

function measure(label: string, server: ServerProcess, route: string, headers?: Record<string, string>): Promise<LoadResult> {
  step(`${label}: ${CONNECTIONS} connections, ${WARMUP_SECONDS} s warm-up + ${MEASURE_SECONDS} s measured`);
  return warmThenLoad({
    url: server.url + route, headers, serverPid: server.pid, connections: CONNECTIONS, seconds: MEASURE_SECONDS, warmupSeconds: WARMUP_SECONDS,
  });
}

/** Throughput of the API role against bare koa, measured before and after zpack so drift on a shared machine averages out. */
async function throughput(): Promise<{ rows: Row[]; listRows: Row[] }> {
  const bare = await startBareKoa();
  try {
    const zpack = await startZpack({ role: 'api' });
    try {
      step(`bare koa pid ${bare.pid} on :${bare.port}; zpack api pid ${zpack.pid} on :${zpack.port} (schema ${zpack.schema})`);
      const token = await accessToken(zpack.url);
      const before = await measure('bare koa GET /healthz', bare, '/healthz');
      const healthz = await measure('zpack GET /healthz', zpack, '/healthz');
      const me = await measure('zpack GET /api/me', zpack, '/api/me', { authorization: `Bearer ${token}` });
      const after = await measure('bare koa GET /healthz (again)', bare, '/healthz');
      const listRows = await listThroughput(zpack, token);
      const rows = [
        { label: 'bare koa (before)', result: before },
        { label: 'bare koa (after)', result: after },
        { label: 'zpack /healthz', result: healthz, minimum: TARGETS.healthz },
        { label: 'zpack /api/me', result: me, minimum: TARGETS.me },
      ];
      return { rows, listRows };
    } finally {
      await zpack.stop();
    }
  } finally {
    await bare.stop();
  }
}

/** Spawn of `zpack all` (fresh schema: migrations included) until /readyz answers 200. */
async function coldStarts(): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < COLD_STARTS; i++) {
    const zpack = await startZpack({ role: 'all' });
    samples.push(zpack.coldStartMs);
    await zpack.stop();
  }
  step(`zpack all cold starts: ${samples.map((s) => ms(s, 0)).join(', ')}`);
  return samples;
}

function invalidity(r: LoadResult): string {
  const parts = [r.non2xx ? `${r.non2xx} non-2xx` : '', r.errors ? `${r.errors} errors` : ''].filter(Boolean);
  return parts.join(', ');
}

/** Prints the throughput table and notes; returns each zpack row's target check (undefined for baselines). */
function reportThroughput(rows: Row[], baseline: number): Array<TargetCheck | undefined> {
  const checks = rows.map((r): TargetCheck | undefined => r.minimum === undefined ? undefined : {
    name: `${r.label} / bare koa`, ratio: r.result.requestsPerSecond / baseline, minimum: r.minimum, invalid: invalidity(r.result),
  });
  console.log();
  table(
    ['target', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx/err', 'vs bare koa', 'needed', 'result', 'server CPU µs/req', 'server busy'],
    rows.map((r, i) => {
      const t = checks[i];
      return [
        r.label, fixed(r.result.requestsPerSecond), fixed(r.result.p50Ms, 1), fixed(r.result.p99Ms, 1),
        `${r.result.non2xx}/${r.result.errors}`, fixed(r.result.requestsPerSecond / baseline, 2), t ? `>= ${fixed(t.minimum, 2)}` : '(baseline)',
        t ? verdict(t) : '',
        fixed(r.result.serverCpuUsPerRequest ?? NaN, 1), r.result.serverBusy === undefined ? '-' : `${fixed(r.result.serverBusy * 100)}%`,
      ];
    }),
  );
  const [before, after] = rows.filter((r) => r.minimum === undefined).map((r) => r.result);
  const drift = Math.abs(before.requestsPerSecond - after.requestsPerSecond) / baseline;
  console.log(`\n  bare koa baseline (mean of before/after): ${fixed(baseline)} req/s`);
  if (drift > DRIFT_WARNING) console.log(`  ! the baseline moved ${fixed(drift * 100)}% between before and after: the machine was busy, rerun before trusting the ratios`);
  const bareCpu = mean([before, after].map((r) => r.serverCpuUsPerRequest ?? NaN));
  const cpuRatios = rows.filter((r) => r.minimum !== undefined).map((r) => `${r.label} ${fixed(bareCpu / (r.result.serverCpuUsPerRequest ?? NaN), 2)}`);
  console.log(`  CPU per request, bare koa ÷ zpack (steadier than req/s on a shared machine): ${cpuRatios.join(', ')}`);
  console.log('  server busy = share of one core the server used; the load generator runs on the same 2 cores, so a');
  console.log('  baseline well below 100% was paced by the load generator and the req/s ratios flatter zpack.');
  console.log('  server CPU counts the server process only (for /api/me, Postgres works on top of it).');
  return checks;
}

async function run(): Promise<BenchmarkReport> {
  const { rows, listRows } = await throughput();
  const baselineOf = (set: Row[]) => mean(set.filter((r) => r.minimum === undefined).map((r) => r.result.requestsPerSecond));
  const baseline = baselineOf(rows);
  const checks = reportThroughput(rows, baseline);
  console.log(`\n  GET ${LIST_ROUTE} for an account with ${LIST_SERVERS} servers (auth, keyset page from Postgres, ${LIST_SERVERS} rows`);
  console.log('  serialised) against bare koa serialising the same JSON from memory:');
  const listBaseline = baselineOf(listRows);
  const listChecks = reportThroughput(listRows, listBaseline);

  const cold = await coldStarts();
  console.log(`  cold start, zpack all → /readyz 200: median ${ms(median(cold), 0)} (min ${ms(Math.min(...cold), 0)}, max ${ms(Math.max(...cold), 0)}, n=${cold.length})`);

  const byLabel = (label: string) => [...rows, ...listRows].find((r) => r.label === label)!.result;
  const list = byLabel(`zpack /api/servers (${LIST_SERVERS})`);
  return {
    targets: [...checks, ...listChecks].filter((t): t is TargetCheck => t !== undefined),
    figures: [
      { label: 'bare koa req/s', value: fixed(baseline) },
      { label: '/healthz req/s, p99', value: `${fixed(byLabel('zpack /healthz').requestsPerSecond)}, ${ms(byLabel('zpack /healthz').p99Ms)}` },
      { label: '/api/me req/s, p99', value: `${fixed(byLabel('zpack /api/me').requestsPerSecond)}, ${ms(byLabel('zpack /api/me').p99Ms)}` },
      { label: `/api/servers?limit=${LIST_SERVERS} req/s, p99 (bare koa same JSON req/s)`, value: `${fixed(list.requestsPerSecond)}, ${ms(list.p99Ms)} (${fixed(listBaseline)})` },
      { label: 'cold start all (median)', value: ms(median(cold), 0) },
    ],
  };
}

export const httpOverhead: Benchmark = {
  name: 'http-overhead',
  summary: `zpack api GET /healthz, authenticated GET /api/me and GET ${LIST_ROUTE} (${LIST_SERVERS} servers) vs a bare koa app, ${CONNECTIONS} connections; cold start of zpack all`,
  run,
};
