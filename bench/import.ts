import { HostingProvider, ImportedAccountSection, InstanceType } from '../kernel/api';
import { FleetImporter } from '../kernel/core/fleet-import/importer';
import { sampleFleet } from '../kernel/core/fleet-import/sample';
import type { FleetFile } from '../kernel/core/fleet-import/format';
import { srvRecordName } from '../plugins/cloudflare/provider';
import { VelocityConnection } from '../plugins/velocity/connection';
import type { TestKernel } from '../test/harness';
import { simulatedWorld, type SimulatedWorld as World } from './lib/simulated-world';
import type { Benchmark, BenchmarkReport } from './lib/benchmark';
import { countCalls } from './lib/call-counter';
import { fixed, ms, step, table } from './lib/print';

const ZONE = { id: 'b3c0ffee00000000000000000000cafe', name: 'play.import.test' };
const PROXY = { target: 'proxy.play.import.test', port: 25577 };
/** ZPACK_BENCH_IMPORT_SERVERS runs a smaller fleet (e.g. to profile); the target is for 10,000. */
const SERVERS = Number(process.env.ZPACK_BENCH_IMPORT_SERVERS ?? 10_000);
const ACCOUNTS = Math.max(1, Math.round(SERVERS / 10));
const VMID_BASE = 200_000;
const PORT_BASE = 20_000;
/** Import and verify of 10,000 servers, end to end. */
const TARGET_MS = 60_000;
/** Every 100th server's container is missing: the import lists it as not adopted, verify proposes it. */
const missing = (n: number): boolean => n % 100 === 42;


const world = (): Promise<World> => simulatedWorld({ zone: ZONE, proxy: PROXY, agentChecksPerPass: 50, config: { logging: { level: 'warn' } } });

/** The old system's world: its containers (tagged with its own name), SRV records and proxy registrations. */
async function seed(w: World, fleet: FleetFile): Promise<void> {
  const bridge = w.tk.kernel.resolve(VelocityConnection).client;
  const register: Array<{ name: string; address: string; port: number }> = [];
  fleet.servers.forEach((s, n) => {
    if (!missing(n)) {
      w.proxmox.addContainer({
        vmid: s.vmid, node: s.node, hostname: `zlh-${s.vmid}`, memory: 2048, cores: 1, rootfs: 'local-lvm:8', net0: '', tags: ['zlh'], status: s.state,
      });
    }
    w.cloudflare.addRecord(ZONE.id, {
      type: 'SRV', name: srvRecordName('_minecraft._tcp', s.vmid, ZONE.name), ttl: 1, data: { priority: 0, weight: 5, port: PROXY.port, target: PROXY.target },
    } as never);
    if (s.state === 'running') register.push({ name: `zp-${s.vmid}`, address: '127.0.0.1', port: s.ports[0].port });
  });
  for (let i = 0; i < register.length; i += 64) await Promise.all(register.slice(i, i + 64).map((b) => bridge.register(b)));
}

interface Phase {
  name: string;
  ms: number;
  sql: number;
  remote: { proxmox: number; cloudflare: number; velocity: number; agents: number };
}

async function measured(w: World, name: string, run: () => Promise<unknown>): Promise<Phase> {
  const remote = () => ({
    proxmox: w.proxmox.requests.length, cloudflare: w.cloudflare.requests.length,
    velocity: w.tk.kernel.resolve(VelocityConnection).simulator!.requests.length, agents: w.agents.requests.length,
  });
  w.proxmox.requests.length = 0;
  w.cloudflare.requests.length = 0;
  w.tk.kernel.resolve(VelocityConnection).simulator!.requests.length = 0;
  w.agents.requests.length = 0;
  const counter = countCalls();
  const t0 = performance.now();
  try {
    await run();
  } finally {
    counter.stop();
  }
  return { name, ms: performance.now() - t0, sql: counter.read().sql, remote: remote() };
}

/**
 * The floor for writing these rows: the same accounts, instances, allocations and import rows,
 * one multi-row INSERT per table (unnest of arrays) into empty copies of the tables.
 */
async function rawInsert(tk: TestKernel, fleet: FleetFile): Promise<Phase> {
  const ds = tk.kernel.ds;
  for (const t of ['account', 'instance', 'vmid_allocation', 'port_allocation', 'fleet_import_row', 'provisioning_operation']) {
    await ds.query(`CREATE TABLE IF NOT EXISTS raw_${t} (LIKE ${t} INCLUDING DEFAULTS)`);
    await ds.query(`TRUNCATE raw_${t}`);
  }
  const t0 = performance.now();
  const accounts = await ds.query(
    `INSERT INTO raw_account (email, password_hash, role, billing_exempt, max_instances, created_at, updated_at)
     SELECT e, h, r, b, 10, now(), now() FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[]) AS t(e, h, r, b) RETURNING id`,
    [fleet.accounts.map((a) => a.email), fleet.accounts.map((a) => a.password.hash), fleet.accounts.map((a) => a.role), fleet.accounts.map((a) => a.billingExempt)]);
  const owners = fleet.servers.map((_, i) => accounts[i % accounts.length].id);
  const s = fleet.servers;
  const instances = await ds.query(
    `INSERT INTO raw_instance (owner_id, kind, type, name, state, vmid, node, ports, payload, options, created_at, updated_at)
     SELECT o, 'game', t, n, st, v, nd, p::jsonb, '{}'::jsonb, op::jsonb, now(), now()
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[]) AS x(o, t, n, st, v, nd, p, op) RETURNING id, vmid`,
    [owners, s.map((x) => x.type), s.map((x) => x.name), s.map((x) => x.state), s.map((x) => x.vmid), s.map((x) => x.node),
      s.map((x) => JSON.stringify(x.ports)), s.map((x) => JSON.stringify(x.options))]);
  const ids = instances.map((r: { id: string }) => r.id);
  await ds.query(`INSERT INTO raw_vmid_allocation (vmid, instance_id, reason) SELECT v, i, 'imported' FROM unnest($1::int[], $2::uuid[]) AS x(v, i)`, [s.map((x) => x.vmid), ids]);
  await ds.query(`INSERT INTO raw_port_allocation (port, instance_id, name) SELECT p, i, 'game' FROM unnest($1::int[], $2::uuid[]) AS x(p, i)`, [s.map((x) => x.ports[0].port), ids]);
  await ds.query(`INSERT INTO raw_fleet_import_row (kind, ref, target_id, source) SELECT 'server', r, i, 'zlh' FROM unnest($1::text[], $2::uuid[]) AS x(r, i)`, [s.map((x) => x.ref), ids]);
  await ds.query(
    `INSERT INTO raw_provisioning_operation (account_id, idempotency_key, kind, state, phase, instance_id, input, checkpoint, deadline_at, created_at, updated_at)
     SELECT o, 'import:' || r, 'create', 'succeeded', 'done', i, '{}'::jsonb, '{"adopted":true}'::jsonb, now(), now(), now() FROM unnest($1::uuid[], $2::text[], $3::uuid[]) AS x(o, r, i)`,
    [owners, s.map((x) => x.ref), ids]);
  const elapsed = performance.now() - t0;
  for (const t of ['account', 'instance', 'vmid_allocation', 'port_allocation', 'fleet_import_row', 'provisioning_operation']) await ds.query(`DROP TABLE raw_${t}`);
  return { name: 'baseline: raw multi-row INSERT of the same rows', ms: elapsed, sql: 6, remote: { proxmox: 0, cloudflare: 0, velocity: 0, agents: 0 } };
}

export const importBench: Benchmark = {
  name: 'import',
  summary: `zpack import of ${SERVERS.toLocaleString('en')} servers (${ACCOUNTS.toLocaleString('en')} accounts) and --verify against the simulators, vs. a raw multi-row INSERT of the same rows`,
  async run(): Promise<BenchmarkReport> {
    const t0 = performance.now();
    const fleet = sampleFleet({
      game: { type: 'minecraft', options: (pick) => ({ version: pick(['1.21.4', '1.20.6']), flavor: pick(['paper', 'vanilla']), memoryMb: 2048 }), port: 'game' },
      accounts: ACCOUNTS, servers: SERVERS, nodes: ['pve1'], vmidBase: VMID_BASE, portBase: PORT_BASE,
    });
    const w = await world();
    try {
      await seed(w, fleet);
      step(`the old system's ${SERVERS.toLocaleString('en')} containers, records and registrations in place (${ms(performance.now() - t0, 0)})`);
      const k = w.tk.kernel;
      const importer = new FleetImporter({
        ds: k.ds, logger: k.logger, hosting: () => k.optional(HostingProvider),
        types: () => k.resolveAll(InstanceType), sections: () => k.resolveAll(ImportedAccountSection),
      });
      const baseline = await rawInsert(w.tk, fleet);
      let report: Awaited<ReturnType<FleetImporter['run']>> | undefined;
      const imported = await measured(w, 'import (write + adopt)', async () => { report = await importer.run(FleetImporter.parse(fleet)); });
      let findings = 0;
      const verified = await measured(w, 'verify (one controller pass, read-only)', async () => { findings = (await k.controller.dryRun()).findings.length; });
      const total = imported.ms + verified.ms;
      const per = (n: number) => fixed(n / SERVERS, 2);
      table(['phase', 'time', 'SQL', 'SQL/server', 'proxmox', 'cloudflare', 'velocity', 'agents', 'remote/server'],
        [baseline, imported, verified].map((p) => {
          const remote = p.remote.proxmox + p.remote.cloudflare + p.remote.velocity + p.remote.agents;
          return [p.name, ms(p.ms, 0), String(p.sql), per(p.sql), String(p.remote.proxmox), String(p.remote.cloudflare), String(p.remote.velocity), String(p.remote.agents), per(remote)];
        }));
      const tagged = report!.adoption.tagged;
      console.log(`  imported ${report!.servers.imported} servers, ${report!.accounts.imported} accounts; containers tagged ${tagged}, not adopted ${report!.adoption.failed.length}; verify findings ${findings}`);
      console.log(`  import: writing the rows ${ms(report!.timings.writeMs, 0)}, adopting the containers ${ms(report!.timings.adoptMs, 0)}`);
      console.log('  remote calls are the simulators\' request logs (cloudflare and agents keep their last 1,000); SQL counts every statement (BEGIN/COMMIT included).');
      const ratio = baseline.ms / imported.ms;
      console.log(`  import vs. raw INSERT of the same rows: ${fixed(imported.ms / baseline.ms, 1)}× the time (baseline ${ms(baseline.ms, 0)})`);
      const proxmoxWrites = report!.adoption.tagged;
      return {
        targets: [{ name: `import + verify of ${SERVERS.toLocaleString('en')} servers < 60 s`, ratio: TARGET_MS / total, minimum: 1, invalid: report!.servers.imported === SERVERS ? '' : `only ${report!.servers.imported} imported` }],
        figures: [
          { label: `import + verify, ${SERVERS.toLocaleString('en-US')} servers`, value: ms(total, 0) },
          { label: 'import / raw INSERT', value: `${fixed(1 / ratio, 1)}×` },
          { label: 'SQL per server (import, verify)', value: `${per(imported.sql)}, ${per(verified.sql)}` },
          { label: 'remote calls per server (import, verify)', value: `${per(Object.values(imported.remote).reduce((a, b) => a + b, 0))} (of which ${proxmoxWrites} tag writes), ${per(Object.values(verified.remote).reduce((a, b) => a + b, 0))}` },
        ],
      };
    } finally {
      await w.stop();
    }
  },
};
