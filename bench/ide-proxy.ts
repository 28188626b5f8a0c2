import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import WebSocket from 'ws';
import type { Benchmark, BenchmarkReport, TargetCheck } from './lib/benchmark';
import { verdict } from './lib/benchmark';
import { closeSocket } from './lib/console-client';
import { elapsedMs, forEachConcurrently, sleep } from './lib/concurrency';
import { fleetPluginOptions, signUp, startInstantFleet, type Fleet } from './lib/fleet';
import { warmThenLoad, type LoadResult } from './lib/load';
import { fixed, ms, step, table } from './lib/print';
import { mib, settledRss } from './lib/process-memory';
import { startBareProxy } from './lib/bare-proxy';
import type { ServerProcess } from './lib/server-process';
import { mean, percentile } from './lib/stats';
import { startZpack, type ZpackProcess } from './lib/zpack-process';

const DEV_DOMAIN = 'dev.zpack.bench';
const CONNECTIONS = 32;
const LOAD_SECONDS = 5;
const ROUNDS = 2;
const PUMP_MS = 3_000;
const WINDOW = 32;
const PAYLOAD_BYTES = 100;
const LATENCY_MESSAGES = 500;
const IDLE_SOCKETS = 1_000;
const OPEN_CONCURRENCY = 50;
const MIN_RATIO = 0.8;
const MAX_KB_PER_SOCKET = 100;

type HttpPath = 'direct' | 'bare' | 'proxied';
const HTTP_PATHS: readonly HttpPath[] = ['direct', 'bare', 'proxied'];

interface Ends {
  /**
   * The fake code-server itself, a bare node:http proxy in front of it (the ceiling of any hop
   * here) and the hosted IDE proxy: HTTP base and headers, and a socket opener.
   */
  http: Record<HttpPath, { url: string; headers: Record<string, string> }>;
  socket: Record<'direct' | 'proxied', () => Promise<WebSocket>>;
}

async function call(url: string, init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<any> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers },
    body: init.body ? JSON.stringify(init.body) : undefined, signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${init.method ?? 'GET'} ${url} answered ${res.status}: ${text}`);
  return JSON.parse(text);
}

/** A dev container through the API, and the IDE cookie its bootstrap sets on dev-<vmid>.<devDomain>. */
async function devContainer(zpack: ZpackProcess, token: string): Promise<{ id: string; vmid: number; cookie: string }> {
  const accepted = await call(`${zpack.url}/api/instances`, {
    method: 'POST', token, headers: { 'idempotency-key': randomBytes(8).toString('hex') },
    body: { kind: 'dev', type: 'codeserver', name: 'bench ide', options: { runtime: 'node', version: '22', enableCodeServer: true } },
  });
  for (let op = accepted.operation; op.state !== 'succeeded'; op = await call(`${zpack.url}/api/operations/${op.id}`, { token })) {
    if (op.state === 'failed' || op.state === 'stale') throw new Error(`create ended ${op.state}: ${JSON.stringify(op.error)}`);
    await sleep(50);
  }
  const id = accepted.operation.instanceId as string;
  const vmid = (await call(`${zpack.url}/api/servers/${id}`, { token })).server.vmid as number;
  const { url } = await call(`${zpack.url}/api/dev/${id}/ide-token`, { method: 'POST', token });
  const boot = new URL(url);
  const cookie = await new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: zpack.port, path: boot.pathname + boot.search, headers: { host: `dev-${vmid}.${DEV_DOMAIN}` } }, (res) => {
      res.resume();
      if (res.statusCode !== 302) return reject(new Error(`bootstrap answered ${res.statusCode}`));
      resolve(String(res.headers['set-cookie']).split(';')[0]);
    });
    req.on('error', reject);
    req.end();
  });
  return { id, vmid, cookie };
}

function open(url: string, headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false, handshakeTimeout: 10_000 });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`${url}: upgrade answered ${res.statusCode}`)));
  });
}

const codeServerOf = (fleet: Fleet, vmid: number): string => `${fleet.agents.url}/ct/${vmid}/codeserver`;

function ends(zpack: ZpackProcess, fleet: Fleet, vmid: number, cookie: string, bare: ServerProcess): Ends {
  const host = `dev-${vmid}.${DEV_DOMAIN}`;
  const direct = codeServerOf(fleet, vmid);
  return {
    http: {
      direct: { url: `${direct}/static/app.js`, headers: {} },
      bare: { url: `${bare.url}/static/app.js`, headers: {} },
      proxied: { url: `http://127.0.0.1:${zpack.port}/static/app.js`, headers: { host, cookie } },
    },
    socket: {
      direct: () => open(`${direct.replace(/^http/, 'ws')}/stable`, {}),
      proxied: () => open(`ws://127.0.0.1:${zpack.port}/stable`, { host, cookie, origin: `https://${host}` }),
    },
  };
}

interface Pumped { messages: number; bytes: number; ms: number }

/** Keeps `WINDOW` echo messages in flight for PUMP_MS, then drains. */
function pump(ws: WebSocket): Promise<Pumped> {
  const payload = 'x'.repeat(PAYLOAD_BYTES);
  let sent = 0;
  let back = 0;
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const onClose = (code: number) => reject(new Error(`socket closed (${code}) while pumping`));
    const onMessage = () => {
      back++;
      if (elapsedMs(started) < PUMP_MS) {
        sent++;
        return ws.send(payload);
      }
      if (back === sent) {
        ws.off('message', onMessage);
        ws.off('close', onClose);
        resolve({ messages: back, bytes: back * PAYLOAD_BYTES * 2, ms: elapsedMs(started) });
      }
    };
    ws.on('message', onMessage);
    ws.once('close', onClose);
    for (; sent < WINDOW; sent++) ws.send(payload);
  });
}

async function roundTrips(ws: WebSocket, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const sentAt = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      ws.once('message', () => resolve());
      ws.send(`rtt ${i}`);
    });
    times.push(elapsedMs(sentAt));
  }
  return times;
}

async function httpRuns(e: Ends, zpack: ZpackProcess, bare: ServerProcess): Promise<Record<HttpPath, LoadResult[]>> {
  const out: Record<HttpPath, LoadResult[]> = { direct: [], bare: [], proxied: [] };
  const pids: Record<HttpPath, number | undefined> = { direct: undefined, bare: bare.pid, proxied: zpack.pid };
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of HTTP_PATHS) {
      const r = await warmThenLoad({ ...e.http[kind], connections: CONNECTIONS, seconds: LOAD_SECONDS, warmupSeconds: 1, serverPid: pids[kind] });
      out[kind].push(r);
      step(`round ${round + 1} HTTP ${kind}: ${fixed(r.requestsPerSecond)} req/s, p50 ${ms(r.p50Ms)}, p99 ${ms(r.p99Ms)}, non-2xx ${r.non2xx}, errors ${r.errors}`);
    }
  }
  return out;
}

async function socketRuns(e: Ends): Promise<{ pumped: Record<'direct' | 'proxied', Pumped[]>; rtt: Record<'direct' | 'proxied', number[]> }> {
  const pumped = { direct: [] as Pumped[], proxied: [] as Pumped[] };
  const rtt = { direct: [] as number[], proxied: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of ['direct', 'proxied'] as const) {
      const ws = await e.socket[kind]();
      await roundTrips(ws, 50);
      const p = await pump(ws);
      pumped[kind].push(p);
      rtt[kind].push(...(await roundTrips(ws, LATENCY_MESSAGES)));
      await closeSocket(ws);
      step(`round ${round + 1} WebSocket ${kind}: ${fixed(p.messages / p.ms * 1000)} echoes/s`);
    }
  }
  return { pumped, rtt };
}

/** Kernel RSS before and after IDLE_SOCKETS proxied IDE sockets sit open; code-server and the clients live in this process. */
async function idleSockets(zpack: ZpackProcess, e: Ends): Promise<{ before: number; after: number; opened: number }> {
  const warm: WebSocket[] = [];
  await forEachConcurrently(50, OPEN_CONCURRENCY, async () => void warm.push(await e.socket.proxied()));
  await Promise.all(warm.map((ws) => closeSocket(ws)));
  await sleep(1000);
  const before = await settledRss(zpack.pid);
  const sockets: WebSocket[] = [];
  try {
    await forEachConcurrently(IDLE_SOCKETS, OPEN_CONCURRENCY, async () => void sockets.push(await e.socket.proxied()));
    await sleep(1000);
    return { before, after: await settledRss(zpack.pid), opened: sockets.length };
  } finally {
    await Promise.all(sockets.map((ws) => closeSocket(ws)));
  }
}

function report(http: Record<HttpPath, LoadResult[]>, ws: Awaited<ReturnType<typeof socketRuns>>, idle: Awaited<ReturnType<typeof idleSockets>>): BenchmarkReport {
  const rps = { direct: mean(http.direct.map((r) => r.requestsPerSecond)), bare: mean(http.bare.map((r) => r.requestsPerSecond)), proxied: mean(http.proxied.map((r) => r.requestsPerSecond)) };
  const p99 = { direct: mean(http.direct.map((r) => r.p99Ms)), proxied: mean(http.proxied.map((r) => r.p99Ms)) };
  const echoes = { direct: mean(ws.pumped.direct.map((p) => p.messages / p.ms * 1000)), proxied: mean(ws.pumped.proxied.map((p) => p.messages / p.ms * 1000)) };
  const rtt = (k: 'direct' | 'proxied', q: number) => percentile(ws.rtt[k], q);
  const kbPerSocket = (idle.after - idle.before) / IDLE_SOCKETS / 1024;
  const bad = [...http.direct, ...http.bare, ...http.proxied].reduce((s, r) => s + r.non2xx + r.errors, 0);
  const cpu = mean(http.proxied.map((r) => r.serverCpuUsPerRequest ?? NaN));
  const bareCpu = mean(http.bare.map((r) => r.serverCpuUsPerRequest ?? NaN));
  const checks: TargetCheck[] = [
    { name: 'proxied / direct HTTP requests per second', ratio: rps.proxied / rps.direct, minimum: MIN_RATIO, invalid: bad ? `${bad} non-2xx answers or errors` : '' },
    { name: 'proxied / direct WebSocket echoes per second', ratio: echoes.proxied / echoes.direct, minimum: MIN_RATIO, invalid: '' },
    { name: `${MAX_KB_PER_SOCKET} KB / kernel RSS per open IDE WebSocket`, ratio: MAX_KB_PER_SOCKET / kbPerSocket, minimum: 1, invalid: idle.opened === IDLE_SOCKETS ? '' : `${idle.opened} of ${IDLE_SOCKETS} opened` },
  ];
  console.log();
  table(['path', 'HTTP req/s', 'HTTP p99', 'WS echoes/s', 'WS RTT p50', 'WS RTT p99'], [
    ...(['direct', 'proxied'] as const).map((k) => [
      k === 'direct' ? 'direct to the fake code-server' : 'through the hosted IDE proxy', fixed(rps[k]), ms(p99[k], 2), fixed(echoes[k]), ms(rtt(k, 50), 3), ms(rtt(k, 99), 3),
    ]),
    ['through a bare node:http proxy', fixed(rps.bare), ms(mean(http.bare.map((r) => r.p99Ms)), 2), '', '', ''],
  ]);
  console.log(`\n  HTTP: GET of a small JSON asset, ${CONNECTIONS} keep-alive connections, ${ROUNDS} × ${LOAD_SECONDS} s per path, alternating; the proxy (taken before koa) checks the IDE cookie (pass reused for recheckMs) and streams to code-server over a keep-alive pool`);
  console.log(`  HTTP proxied / direct: ${fixed(checks[0].ratio, 2)} (target >= ${MIN_RATIO}): ${verdict(checks[0])}; added p99 ${ms(p99.proxied - p99.direct, 2)}; kernel CPU ${fixed(cpu, 0)} µs per proxied request`);
  console.log(`  the ceiling of a hop: a bare node:http proxy (no checks, no logs, the answer piped) in the kernel's place reaches ${fixed(rps.bare / rps.direct, 2)} of direct`);
  console.log(`  at ${fixed(bareCpu, 0)} µs CPU per request; the hosted IDE proxy reaches ${fixed(rps.proxied / rps.bare, 2)} of that bare hop`);
  console.log(`  WebSocket (piped as bytes after the checks): ${WINDOW} echoes of ${PAYLOAD_BYTES} B in flight for ${PUMP_MS / 1000} s: proxied / direct ${fixed(checks[1].ratio, 2)}: ${verdict(checks[1])}; added RTT p50 +${ms(rtt('proxied', 50) - rtt('direct', 50), 3)}, p99 +${ms(rtt('proxied', 99) - rtt('direct', 99), 3)}`);
  console.log(`  ${IDLE_SOCKETS} open IDE sockets: kernel RSS ${fixed(mib(idle.before), 1)} → ${fixed(mib(idle.after), 1)} MiB = ${fixed(kbPerSocket, 1)} KB each (target < ${MAX_KB_PER_SOCKET}): ${verdict(checks[2])}`);
  console.log('  limits: the direct baseline is the simulator\'s code-server, in this process, on the same 2 shared cores as the kernel and the load generator; a real code-server answers slower, which would raise the ratio');
  return {
    targets: checks,
    figures: [
      { label: 'HTTP req/s direct / proxied', value: `${fixed(rps.direct)} / ${fixed(rps.proxied)}` },
      { label: 'HTTP bare node:http proxy / direct (a hop\'s ceiling)', value: fixed(rps.bare / rps.direct, 2) },
      { label: 'HTTP proxied / bare node:http proxy', value: fixed(rps.proxied / rps.bare, 2) },
      { label: 'HTTP p99 added', value: ms(p99.proxied - p99.direct, 2) },
      { label: 'WS echoes/s direct / proxied', value: `${fixed(echoes.direct)} / ${fixed(echoes.proxied)}` },
      { label: 'WS RTT p99 added', value: ms(rtt('proxied', 99) - rtt('direct', 99), 3) },
      { label: 'kernel RSS per open IDE socket', value: `${fixed(kbPerSocket, 1)} KB` },
    ],
  };
}

async function run(): Promise<BenchmarkReport> {
  const fleet = await startInstantFleet();
  let zpack: ZpackProcess | undefined;
  let bare: ServerProcess | undefined;
  try {
    zpack = await startZpack({
      role: 'all',
      plugins: {
        ...fleetPluginOptions(fleet),
        codeserver: {
          simulate: false, devDomain: DEV_DOMAIN, ide: { secret: randomBytes(24).toString('hex') },
          codeServer: { endpoint: `${fleet.agents.url}/ct/{vmid}/codeserver` },
        },
      },
    });
    const token = await signUp(zpack.url);
    const dev = await devContainer(zpack, token);
    step(`zpack all pid ${zpack.pid} on :${zpack.port}; dev container ${dev.id} (vmid ${dev.vmid}); code-server at ${fleet.agents.url}/ct/${dev.vmid}/codeserver`);
    bare = await startBareProxy(codeServerOf(fleet, dev.vmid), '/static/app.js');
    const e = ends(zpack, fleet, dev.vmid, dev.cookie, bare);
    const idle = await idleSockets(zpack, e);
    const http = await httpRuns(e, zpack, bare);
    const ws = await socketRuns(e);
    return report(http, ws, idle);
  } finally {
    await bare?.stop();
    await zpack?.stop();
    await fleet.stop();
  }
}

export const ideProxy: Benchmark = {
  name: 'ide-proxy',
  summary: `hosted IDE proxy vs direct to the fake code-server: HTTP req/s and WebSocket echoes/s (target >= ${MIN_RATIO}), added p99, kernel RSS per open IDE WebSocket (target < ${MAX_KB_PER_SOCKET} KB)`,
  run,
};
