import { fleetConfig, fleetPlugins } from '../test/provisioning/fixture';
import { startTestKernel, type TestKernel } from '../test/harness';
import type { Benchmark, BenchmarkReport, TargetCheck } from './lib/benchmark';
import { verdict } from './lib/benchmark';
import { elapsedMs, forEachConcurrently, sleep } from './lib/concurrency';
import { createServer, startInstantFleet, type Fleet, type ProvisionedServer } from './lib/fleet';
import { fixed, ms, step, table } from './lib/print';
import { deleteRedisKeys } from './lib/redis-keys';
import { percentile } from './lib/stats';

const SERVERS = 4;
const BURST_READS = 1_000;
const SUSTAINED_CLIENTS = 100;
const SUSTAINED_MS = 7_000;
/** The kernel's readiness cache TTL (kernel/core/instance-wiring.ts: new ReadinessCache(2000)). */
const TTL_MS = 2_000;

interface Phase {
  label: string;
  reads: number;
  badReads: string[];
  durationMs: number;
  latencyMs: number[];
  /** Per server: when each GET /ready reached the agent, ms after the phase started. */
  calls: Map<number, number[]>;
}

/** GET /ready calls the agent simulator logged for these servers since `since`. */
function readyCalls(fleet: Fleet, servers: ProvisionedServer[], since: number): Map<number, number[]> {
  const calls = new Map(servers.map((s) => [s.vmid, [] as number[]]));
  for (const r of fleet.agents.requests) {
    if (r.method === 'GET' && r.path === '/ready' && r.at.getTime() >= since) calls.get(r.vmid)?.push(r.at.getTime() - since);
  }
  return calls;
}

async function statusRead(tk: TestKernel, token: string, server: ProvisionedServer): Promise<{ ms: number; problem?: string }> {
  const sent = process.hrtime.bigint();
  try {
    const res = await fetch(`${tk.url}/api/servers/${server.id}/status`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(30_000) });
    const body = (await res.json()) as { ready?: boolean };
    if (res.status !== 200 || body.ready !== true) return { ms: elapsedMs(sent), problem: `${res.status} ${JSON.stringify(body).slice(0, 120)}` };
    return { ms: elapsedMs(sent) };
  } catch (err) {
    return { ms: elapsedMs(sent), problem: (err as Error).message };
  }
}

/** `reads` status reads from `clients` concurrent clients (stopping after `untilMs`), servers taken in turn. */
async function phase(label: string, tk: TestKernel, fleet: Fleet, token: string, servers: ProvisionedServer[], clients: number, reads: number, untilMs = Infinity): Promise<Phase> {
  const latencyMs: number[] = [];
  const badReads: string[] = [];
  const since = Date.now();
  const started = process.hrtime.bigint();
  let done = 0;
  await forEachConcurrently(reads, clients, async (i) => {
    const r = await statusRead(tk, token, servers[i % servers.length]);
    done++;
    latencyMs.push(r.ms);
    if (r.problem) badReads.push(r.problem);
  }, untilMs);
  const durationMs = elapsedMs(started);
  return { label, reads: done, badReads, durationMs, latencyMs, calls: readyCalls(fleet, servers, since) };
}

/** At most one probe per TTL per server: a phase of D ms may hold ceil(D / TTL) of them (at least one). */
const allowedCalls = (p: Phase) => Math.max(1, Math.ceil(p.durationMs / TTL_MS));
const worstServer = (p: Phase) => Math.max(...[...p.calls.values()].map((c) => c.length));
const totalCalls = (p: Phase) => [...p.calls.values()].reduce((s, c) => s + c.length, 0);

function check(p: Phase): TargetCheck {
  return {
    name: `${p.label}: allowed / observed agent calls (worst server)`,
    ratio: allowedCalls(p) / Math.max(1, worstServer(p)),
    minimum: 1,
    invalid: [p.badReads.length && `${p.badReads.length} reads failed (${p.badReads[0]})`, totalCalls(p) === 0 && 'no agent call seen'].filter(Boolean).join('; '),
  };
}

function report(phases: Phase[], servers: ProvisionedServer[]): BenchmarkReport {
  const checks = phases.map(check);
  console.log();
  table(
    ['phase', 'reads', 'duration', 'reads/s', 'p50', 'p99', 'agent calls', 'calls per server', 'allowed per server', 'reads per call', 'result'],
    phases.map((p, i) => [
      p.label, String(p.reads), ms(p.durationMs, 0), fixed(p.reads / p.durationMs * 1000), ms(percentile(p.latencyMs, 50)), ms(percentile(p.latencyMs, 99)),
      String(totalCalls(p)), [...p.calls.values()].map((c) => c.length).join(' / '), String(allowedCalls(p)), fixed(p.reads / Math.max(1, totalCalls(p)), 0), verdict(checks[i]),
    ]),
  );
  console.log(`\n  without the cache every read is one agent call; TTL ${TTL_MS} ms, ${servers.length} servers`);
  for (const p of phases) {
    for (const s of servers) console.log(`  ${p.label}, vmid ${s.vmid}: GET /ready at ${p.calls.get(s.vmid)!.map((t) => `+${fixed(t)} ms`).join(', ') || 'never'}`);
  }
  return {
    targets: checks,
    figures: phases.map((p) => ({ label: `${p.label}: reads → agent calls`, value: `${p.reads} → ${totalCalls(p)} (${[...p.calls.values()].map((c) => c.length).join('/')} per server)` })),
  };
}

async function run(): Promise<BenchmarkReport> {
  const fleet = await startInstantFleet();
  let tk: TestKernel | undefined;
  try {
    tk = await startTestKernel({ plugins: fleetPlugins, config: fleetConfig(fleet, { provisioning: { readyPollMs: 5 } }) });
    const user = await tk.user();
    const servers: ProvisionedServer[] = [];
    for (let i = 0; i < SERVERS; i++) servers.push(await createServer(tk.url, user.accessToken));
    step(`${SERVERS} running servers (vmids ${servers.map((s) => s.vmid).join(', ')}) on ${tk.url}; waiting one TTL so no probe is cached`);
    await sleep(TTL_MS + 100);
    const burst = await phase(`burst of ${BURST_READS}`, tk, fleet, user.accessToken, servers, BURST_READS, BURST_READS);
    step(`burst: ${burst.reads} concurrent reads in ${ms(burst.durationMs, 0)}, ${totalCalls(burst)} agent calls`);
    await sleep(TTL_MS + 100);
    const sustained = await phase(`${SUSTAINED_CLIENTS} clients for ${SUSTAINED_MS / 1000} s`, tk, fleet, user.accessToken, servers, SUSTAINED_CLIENTS, Number.MAX_SAFE_INTEGER, SUSTAINED_MS);
    step(`sustained: ${sustained.reads} reads in ${ms(sustained.durationMs, 0)}, ${totalCalls(sustained)} agent calls`);
    return report([burst, sustained], servers);
  } finally {
    await tk?.stop();
    await fleet.stop();
    if (tk) await deleteRedisKeys(tk.prefix);
  }
}

export const status: Benchmark = {
  name: 'status',
  summary: `${BURST_READS} concurrent GET /api/servers/:id/status over ${SERVERS} servers, then ${SUSTAINED_CLIENTS} clients for ${SUSTAINED_MS / 1000} s: agent GET /ready calls counted (target 1 per ${TTL_MS / 1000} s TTL per server)`,
  run,
};
