import type { EntityManager } from 'typeorm';
import { InstanceAgent, Tokens } from '../kernel/api';
import type { FencingToken } from '../kernel/api';
import { recordFence } from '../kernel/core/loops/fence';
import type { PassReport } from '../kernel/core/controller/reconciler';
import { srvRecordName } from '../plugins/cloudflare/provider';
import { VelocityConnection } from '../plugins/velocity/connection';
import type { TestKernel } from '../test/harness';
import { simulatedWorld, type SimulatedWorld as World } from './lib/simulated-world';
import type { Benchmark, BenchmarkReport, TargetCheck } from './lib/benchmark';
import { callsBetween, countCalls } from './lib/call-counter';
import { mib } from './lib/process-memory';
import { fixed, ms, step, table } from './lib/print';

const ZONE = { id: 'b3c0ffee00000000000000000000beef', name: 'play.bench.test' };
const PROXY = { target: 'proxy.play.bench.test', port: 25577 };
const FIRST_VMID = 100_000;
/** Agents asked per pass (the agent plugin's driftChecksPerPass); the first two passes' share is provisioned. */
const AGENT_CHECKS = 50;
/** Pass time target for 10,000 instances. */
const PASS_TARGET_MS = 10_000;
/** Per 100 instances: one drifts, of one of these kinds in turn (1% mixed drift). */
const DRIFT_KINDS = ['edge_missing', 'proxy_missing', 'container_stopped', 'container_missing', 'stale_operation', 'container_orphan'] as const;

interface PassFigures {
  instances: number;
  findings: number;
  byKind: Record<string, number>;
  ms: number;
  sql: number;
  redis: number;
  remote: { proxmox: number; cloudflare: number; velocity: number; agents: number };
  rssMiB: number;
}


const world = (): Promise<World> => simulatedWorld({ zone: ZONE, proxy: PROXY, agentChecksPerPass: AGENT_CHECKS, config: { controller: { repairLevel: 0, addressChecksPerPass: 50 } } });

/** `count` running game servers straight into the schema, the remote systems agreeing with them but for 1% of mixed drift. */
async function populate(w: World, count: number): Promise<void> {
  const { tk } = w;
  const owner = await tk.user();
  const rows: Array<{ id: string; vmid: number; port: number }> = await tk.kernel.ds.query(
    `INSERT INTO instance (owner_id, kind, type, name, state, vmid, node, address, host, ports, created_at)
     SELECT $1, 'game', 'minecraft', 'bench ' || n, 'running', $3 + n, 'pve1', $4 || '/ct/' || ($3 + n), '127.0.0.1',
            jsonb_build_array(jsonb_build_object('name', 'game', 'port', 30000 + n % 2000, 'protocol', 'tcp')), now() + n * interval '1 microsecond'
       FROM generate_series(0, $2 - 1) AS n
     RETURNING id, vmid, (ports->0->>'port')::int AS port`,
    [owner.id, count, FIRST_VMID, w.agents.url]);
  const drift = (n: number): string | undefined => (n % 100 === 50 ? DRIFT_KINDS[Math.floor(n / 100) % DRIFT_KINDS.length] : undefined);
  const pipeline = tk.kernel.redis.pipeline();
  for (const r of rows) pipeline.set(`${tk.prefix}:ready:${r.id}`, '1');
  await pipeline.exec();
  const bridge = tk.kernel.resolve(VelocityConnection).client;
  const register: Array<{ name: string; address: string; port: number }> = [];
  rows.forEach((r, n) => {
    const kind = drift(n);
    if (kind !== 'container_missing') {
      w.proxmox.addContainer({
        vmid: r.vmid, node: 'pve1', hostname: `zp-${r.vmid}`, memory: 2048, cores: 1, rootfs: 'local-lvm:8', net0: '',
        tags: ['zpack', `op-bench-${n}`], status: kind === 'container_stopped' ? 'stopped' : 'running',
      });
    }
    if (kind !== 'edge_missing') {
      w.cloudflare.addRecord(ZONE.id, {
        type: 'SRV', name: srvRecordName('_minecraft._tcp', r.vmid, ZONE.name), ttl: 1,
        data: { priority: 0, weight: 5, port: PROXY.port, target: PROXY.target },
      } as any);
    }
    if (kind !== 'proxy_missing') register.push({ name: `zp-${r.vmid}`, address: '127.0.0.1', port: r.port });
    if (kind === 'container_orphan') {
      w.proxmox.addContainer({ vmid: FIRST_VMID + count + n, node: 'pve1', hostname: 'stray', memory: 512, cores: 1, rootfs: '', net0: '', tags: ['zpack'], status: 'running' });
    }
  });
  for (let i = 0; i < register.length; i += 64) await Promise.all(register.slice(i, i + 64).map((b) => bridge.register(b)));
  const stale = rows.filter((_, n) => drift(n) === 'stale_operation');
  for (const r of stale) {
    await tk.kernel.ds.query(
      `INSERT INTO provisioning_operation (account_id, kind, state, phase, instance_id, deadline_at) VALUES ($1, 'delete', 'running', 'stop', $2, now() - interval '1 hour')`,
      [owner.id, r.id]);
  }
  // The agents the first two passes ask hold their payload, as agents of running servers do.
  const views = await tk.kernel.directory.list({ ownerId: owner.id });
  const agent = tk.kernel.resolve(InstanceAgent);
  const tokens = tk.kernel.resolve(Tokens.AgentTokens);
  await Promise.all(views.slice(0, 2 * AGENT_CHECKS).map((v) => agent.provision(v, { instanceId: v.id, agentToken: tokens.tokenFor(v.id) })));
}

/** The elected controller's fence, for a pass run by hand. */
function fenceOf(tk: TestKernel): FencingToken {
  const loop = 'kernel.controller';
  return {
    loop, value: 1,
    assertCurrent: async () => undefined,
    transaction: <T>(write: (m: EntityManager) => Promise<T>) => tk.kernel.ds.transaction(async (m) => {
      await recordFence(m, loop, 1);
      return write(m);
    }),
  };
}

async function measuredPass(w: World): Promise<PassFigures> {
  const remote = () => ({
    proxmox: w.proxmox.requests.length, cloudflare: w.cloudflare.requests.length,
    velocity: w.tk.kernel.resolve(VelocityConnection).simulator!.requests.length, agents: w.agents.requests.length,
  });
  const before = remote();
  const counter = countCalls();
  const started = performance.now();
  let report: PassReport;
  try {
    report = await w.tk.kernel.controller.reconciler.pass(new AbortController().signal, fenceOf(w.tk));
  } finally {
    counter.stop();
  }
  const elapsed = performance.now() - started;
  const calls = callsBetween({ sql: 0, redis: 0, cpuMs: 0 }, counter.read());
  const after = remote();
  const byKind: Record<string, number> = {};
  for (const f of report.findings) byKind[f.kind] = (byKind[f.kind] ?? 0) + 1;
  return {
    instances: report.instances, findings: report.findings.length, byKind, ms: elapsed, sql: calls.sql, redis: calls.redis,
    remote: {
      proxmox: after.proxmox - before.proxmox, cloudflare: after.cloudflare - before.cloudflare,
      velocity: after.velocity - before.velocity, agents: after.agents - before.agents,
    },
    rssMiB: mib(process.memoryUsage().rss),
  };
}

async function fleetOf(count: number): Promise<PassFigures[]> {
  const w = await world();
  try {
    const t0 = performance.now();
    await populate(w, count);
    step(`${count} instances and their remote state in place (${ms(performance.now() - t0, 0)})`);
    const first = await measuredPass(w);
    step(`${count}: first pass ${ms(first.ms, 0)}, ${first.findings} findings, ${first.sql} SQL statements`);
    const second = await measuredPass(w);
    step(`${count}: second pass ${ms(second.ms, 0)}, ${second.findings} findings, ${second.sql} SQL statements`);
    return [first, second];
  } finally {
    await w.stop();
  }
}

async function run(): Promise<BenchmarkReport> {
  const small = await fleetOf(1_000);
  const large = await fleetOf(10_000);
  const rows = [['1,000', 'first', small[0]], ['1,000', 'again', small[1]], ['10,000', 'first', large[0]], ['10,000', 'again', large[1]]] as const;
  console.log();
  table(
    ['instances', 'pass', 'time', 'findings', 'SQL', 'Redis', 'Proxmox', 'Cloudflare', 'Velocity', 'agents', 'RSS'],
    rows.map(([n, pass, f]) => [n, pass, ms(f.ms, 0), String(f.findings), String(f.sql), String(f.redis),
      String(f.remote.proxmox), String(f.remote.cloudflare), String(f.remote.velocity), String(f.remote.agents), `${fixed(f.rssMiB, 0)} MiB`]),
  );
  console.log(`\n  findings of the 10,000 pass by kind: ${JSON.stringify(large[0].byKind)}`);
  console.log('  SQL counts every statement of the pass (BEGIN/COMMIT included); remote calls are the simulators\' request logs.');
  console.log(`  Agents have no bulk endpoint: each pass asks ${AGENT_CHECKS} of them (driftChecksPerPass), and asks Proxmox for 50 addresses (controller.addressChecksPerPass).`);
  const expectedDrift = (n: number) => n / 100;
  const invalid = [
    large[0].findings < expectedDrift(10_000) && `10,000 pass found ${large[0].findings} < ${expectedDrift(10_000)} drifts`,
    small[0].findings < expectedDrift(1_000) && `1,000 pass found ${small[0].findings} < ${expectedDrift(1_000)} drifts`,
  ].filter(Boolean).join('; ');
  const constantSql: TargetCheck = { name: 'SQL statements per pass, 1,000 / 10,000 instances (constant: 1.0)', ratio: small[0].sql / large[0].sql, minimum: 1, invalid };
  const passTime: TargetCheck = { name: `10 s / one pass over 10,000 instances`, ratio: PASS_TARGET_MS / large[0].ms, minimum: 1, invalid };
  return {
    targets: [constantSql, passTime],
    figures: [
      { label: 'pass over 10,000 (first / again)', value: `${ms(large[0].ms, 0)} / ${ms(large[1].ms, 0)}` },
      { label: 'pass over 1,000 (first / again)', value: `${ms(small[0].ms, 0)} / ${ms(small[1].ms, 0)}` },
      { label: 'SQL per pass 1,000 vs 10,000', value: `${small[0].sql} vs ${large[0].sql} (again: ${small[1].sql} vs ${large[1].sql})` },
      { label: 'remote calls per pass, 10,000', value: JSON.stringify(large[0].remote) },
      { label: 'RSS after the 10,000 pass', value: `${fixed(large[0].rssMiB, 0)} MiB` },
    ],
  };
}

export const reconcile: Benchmark = {
  name: 'reconcile',
  summary: 'One controller pass over 1,000 and 10,000 running servers with 1% mixed drift against the Proxmox, Cloudflare, Velocity and agent simulators (target < 10 s for 10,000; SQL statements per pass independent of the count)',
  run,
};
