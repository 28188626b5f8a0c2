import type WebSocket from 'ws';
import type { Benchmark, BenchmarkReport, TargetCheck } from './lib/benchmark';
import { verdict } from './lib/benchmark';
import { forEachConcurrently, sleep } from './lib/concurrency';
import { machineCpu, ownCpuMs } from './lib/cpu-usage';
import { closeSocket, openConsole, pump, roundTripTimes, type Pumped } from './lib/console-client';
import { agentTokenOf, createServer, signUp, startInstantFleet, startZpackOnFleet, type Fleet, type ProvisionedServer } from './lib/fleet';
import { fixed, ms, step, table } from './lib/print';
import { processCpuMs } from './lib/process-cpu';
import { mib, settledRss } from './lib/process-memory';
import { mean, percentile } from './lib/stats';
import type { ZpackProcess } from './lib/zpack-process';
import { zpackMemory } from './lib/zpack-memory';

const ROUNDS = 2;
const PUMP_MS = 3_000;
/** Commands in flight during a throughput run. */
const WINDOW = 32;
const PAYLOAD_BYTES = 100;
const LATENCY_MESSAGES = 500;
const IDLE_CONSOLES = 1_000;
const WARMUP_CONSOLES = 50;
const OPEN_CONCURRENCY = 50;
const MIN_THROUGHPUT_RATIO = 0.8;
const MAX_KB_PER_CONSOLE = 100;

interface Endpoints {
  direct(): Promise<WebSocket>;
  bridged(): Promise<WebSocket>;
}

interface IdleResult {
  attached: number;
  kernelBefore: number;
  kernelAfter: number;
  kernelReleased: number;
  heapDelta: number;
  externalDelta: number;
}

function endpoints(zpack: ZpackProcess, fleet: Fleet, token: string, server: ProvisionedServer): Endpoints {
  const agentToken = agentTokenOf(fleet, server.vmid);
  return {
    direct: () => openConsole(`${fleet.agents.address(server.vmid).replace(/^http/, 'ws')}/console`, { authorization: `Bearer ${agentToken}` }),
    async bridged() {
      const res = await fetch(`${zpack.url}/api/servers/${server.id}/console/ticket`, {
        method: 'POST', headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000),
      });
      if (res.status !== 200) throw new Error(`console ticket answered ${res.status}: ${await res.text()}`);
      const { ticket } = (await res.json()) as { ticket: string };
      return openConsole(`ws://127.0.0.1:${zpack.port}/api/servers/${server.id}/console?ticket=${ticket}`);
    },
  };
}

async function openMany(open: () => Promise<WebSocket>, count: number, into: WebSocket[]): Promise<void> {
  await forEachConcurrently(count, OPEN_CONCURRENCY, async () => void into.push(await open()));
}

/** Kernel RSS before and after IDLE_CONSOLES bridged consoles sit open; the simulators and clients live in this process, not the kernel's. */
async function idleConsoles(zpack: ZpackProcess, fleet: Fleet, vmid: number, open: () => Promise<WebSocket>): Promise<IdleResult> {
  const warm: WebSocket[] = [];
  await openMany(open, WARMUP_CONSOLES, warm);
  await Promise.all(warm.map((ws) => closeSocket(ws)));
  await sleep(1000);
  const [kernelBefore, memBefore] = [await settledRss(zpack.pid), await zpackMemory(zpack)];
  const sockets: WebSocket[] = [];
  try {
    await openMany(open, IDLE_CONSOLES, sockets);
    await sleep(1000);
    const [kernelAfter, memAfter] = [await settledRss(zpack.pid), await zpackMemory(zpack)];
    const attached = fleet.agents.containers().get(vmid)?.consoles ?? 0;
    await Promise.all(sockets.splice(0).map((ws) => closeSocket(ws)));
    await sleep(2000);
    return {
      attached, kernelBefore, kernelAfter, kernelReleased: await settledRss(zpack.pid),
      heapDelta: memAfter.heapUsedBytes - memBefore.heapUsedBytes, externalDelta: memAfter.externalBytes - memBefore.externalBytes,
    };
  } finally {
    await Promise.all(sockets.map((ws) => closeSocket(ws)));
  }
}

interface Throughput { direct: Pumped[]; bridged: Pumped[]; kernelCpuMs: number }

/** Direct and bridged runs alternate, so drift on a shared machine hits both. */
async function throughput(zpack: ZpackProcess, ends: Endpoints): Promise<Throughput> {
  const out: Throughput = { direct: [], bridged: [], kernelCpuMs: 0 };
  for (const kind of ['direct', 'bridged'] as const) {
    const ws = await ends[kind]();
    await pump(ws, 500, WINDOW, PAYLOAD_BYTES);
    await closeSocket(ws);
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of ['direct', 'bridged'] as const) {
      const ws = await ends[kind]();
      const cpuBefore = processCpuMs(zpack.pid) ?? NaN;
      const ownBefore = ownCpuMs();
      const machine = machineCpu();
      const result = await pump(ws, PUMP_MS, WINDOW, PAYLOAD_BYTES);
      const kernelCpuMs = (processCpuMs(zpack.pid) ?? NaN) - cpuBefore;
      if (kind === 'bridged') out.kernelCpuMs += kernelCpuMs;
      out[kind].push(result);
      await closeSocket(ws);
      const share = (cpuMs: number) => `${fixed(cpuMs / result.ms * 100)}%`;
      step(`round ${round + 1} ${kind}: ${fixed(result.roundTrips / result.ms * 1000)} round trips/s; CPU of one core: this process ${share(ownCpuMs() - ownBefore)}, kernel ${share(kernelCpuMs)}; machine busy ${fixed(machine.busy() * 100)}%`);
    }
  }
  return out;
}

async function latency(ends: Endpoints): Promise<{ direct: number[]; bridged: number[] }> {
  const out = { direct: [] as number[], bridged: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of ['direct', 'bridged'] as const) {
      const ws = await ends[kind]();
      await roundTripTimes(ws, 50, PAYLOAD_BYTES);
      out[kind].push(...(await roundTripTimes(ws, LATENCY_MESSAGES, PAYLOAD_BYTES)));
      await closeSocket(ws);
    }
  }
  return out;
}

const rate = (runs: Pumped[], pick: (p: Pumped) => number) => mean(runs.map((p) => pick(p) / p.ms * 1000));

function report(tp: Throughput, lat: { direct: number[]; bridged: number[] }, idle: IdleResult): BenchmarkReport {
  const msgs = { direct: rate(tp.direct, (p) => p.roundTrips), bridged: rate(tp.bridged, (p) => p.roundTrips) };
  const bytes = { direct: rate(tp.direct, (p) => p.bytesIn + p.bytesOut), bridged: rate(tp.bridged, (p) => p.bytesIn + p.bytesOut) };
  const p = (k: 'direct' | 'bridged', q: number) => percentile(lat[k], q);
  const kbPerConsole = (idle.kernelAfter - idle.kernelBefore) / IDLE_CONSOLES / 1024;
  const checks: TargetCheck[] = [
    { name: 'bridged / direct round trips per second', ratio: msgs.bridged / msgs.direct, minimum: MIN_THROUGHPUT_RATIO, invalid: '' },
    { name: 'bridged / direct bytes per second', ratio: bytes.bridged / bytes.direct, minimum: MIN_THROUGHPUT_RATIO, invalid: '' },
    {
      name: `${MAX_KB_PER_CONSOLE} KB / kernel RSS per idle console`, ratio: MAX_KB_PER_CONSOLE / kbPerConsole, minimum: 1,
      invalid: idle.attached === IDLE_CONSOLES ? '' : `the agent saw ${idle.attached} of ${IDLE_CONSOLES} consoles attached`,
    },
  ];
  const bridgedRoundTrips = tp.bridged.reduce((s, r) => s + r.roundTrips, 0);
  console.log();
  table(
    ['path', 'round trips/s', 'frames in/s', 'MB/s (in + out)', 'RTT p50', 'RTT p99'],
    (['direct', 'bridged'] as const).map((k) => [
      k === 'direct' ? 'direct to the agent simulator' : 'through the kernel bridge', fixed(msgs[k]), fixed(rate(tp[k], (r) => r.framesIn)),
      fixed(bytes[k] / 1e6, 2), ms(p(k, 50), 2), ms(p(k, 99), 2),
    ]),
  );
  console.log(`\n  each round trip: one zpack.console.v1 input 'say <${PAYLOAD_BYTES} B>' out, its echo and '[Server] …' back as PTY output (read off the PTY once per event-loop turn, cut in two); ${WINDOW} in flight, ${ROUNDS} × ${PUMP_MS / 1000} s per path, alternating`);
  console.log(`  round trips/s bridged / direct: ${fixed(checks[0].ratio, 2)} (target >= ${MIN_THROUGHPUT_RATIO}): ${verdict(checks[0])}; bytes/s: ${fixed(checks[1].ratio, 2)}: ${verdict(checks[1])}`);
  console.log(`  added latency (one message at a time, ${ROUNDS * LATENCY_MESSAGES} each): p50 +${ms(p('bridged', 50) - p('direct', 50), 2)}, p99 +${ms(p('bridged', 99) - p('direct', 99), 2)}`);
  console.log(`  kernel CPU per bridged round trip: ${fixed(tp.kernelCpuMs * 1000 / bridgedRoundTrips, 1)} µs`);
  console.log(`\n  ${IDLE_CONSOLES} idle bridged consoles (kernel in its own process; clients and agent simulator in this one):`);
  console.log(`  kernel RSS ${fixed(mib(idle.kernelBefore), 1)} → ${fixed(mib(idle.kernelAfter), 1)} MiB = ${fixed(kbPerConsole, 1)} KB per console (target < ${MAX_KB_PER_CONSOLE} KB): ${verdict(checks[2])}`);
  console.log(`  of which V8 heap used ${fixed(idle.heapDelta / IDLE_CONSOLES / 1024, 1)} KB, external (buffers) ${fixed(idle.externalDelta / IDLE_CONSOLES / 1024, 1)} KB per console; ${fixed(mib(idle.kernelReleased), 1)} MiB after closing them`);
  console.log(`  the agent simulator saw ${idle.attached} consoles attached; the client and agent ends live in this process, so the kernel's RSS is the bridge alone`);
  return {
    targets: checks,
    figures: [
      { label: 'round trips/s direct / bridged', value: `${fixed(msgs.direct)} / ${fixed(msgs.bridged)}` },
      { label: 'MB/s direct / bridged', value: `${fixed(bytes.direct / 1e6, 2)} / ${fixed(bytes.bridged / 1e6, 2)}` },
      { label: 'added latency p50 / p99', value: `${ms(p('bridged', 50) - p('direct', 50), 2)} / ${ms(p('bridged', 99) - p('direct', 99), 2)}` },
      { label: 'kernel RSS per idle console', value: `${fixed(kbPerConsole, 1)} KB` },
    ],
  };
}

async function run(): Promise<BenchmarkReport> {
  const fleet = await startInstantFleet();
  let zpack: ZpackProcess | undefined;
  try {
    zpack = await startZpackOnFleet(fleet);
    const token = await signUp(zpack.url);
    const server = await createServer(zpack.url, token);
    step(`zpack all pid ${zpack.pid} on :${zpack.port}; server ${server.id} (vmid ${server.vmid}) in the agent simulator at ${fleet.agents.url}`);
    const ends = endpoints(zpack, fleet, token, server);
    const idle = await idleConsoles(zpack, fleet, server.vmid, ends.bridged);
    step(`${IDLE_CONSOLES} idle consoles: kernel RSS ${fixed(mib(idle.kernelBefore), 1)} → ${fixed(mib(idle.kernelAfter), 1)} MiB`);
    const tp = await throughput(zpack, ends);
    const lat = await latency(ends);
    return report(tp, lat, idle);
  } finally {
    await zpack?.stop();
    await fleet.stop();
  }
}

export const consoleBridge: Benchmark = {
  name: 'console',
  summary: `console WebSocket through the kernel bridge vs direct to the agent simulator (target >= ${MIN_THROUGHPUT_RATIO} of messages/s and bytes/s), added latency, kernel RSS of ${IDLE_CONSOLES} idle consoles (target < ${MAX_KB_PER_CONSOLE} KB each)`,
  run,
};
