import { expect } from 'chai';
import { HostingProvider, ImportedAccountSection, InstanceType } from '../../kernel/api';
import { FleetImporter } from '../../kernel/core/fleet-import/importer';
import { sampleFleet } from '../../kernel/core/fleet-import/sample';
import { minecraftSample } from './sample-game';
import { useFleetKernel } from '../provisioning/fixture';

/** The old system tagged its containers with its own name; zpack's tag is `zpack`. */
const LEGACY_TAG = 'zlh';

describe('zpack import: adopting the running containers, never recreating them', () => {
  const env = useFleetKernel();
  const fleet = sampleFleet({ game: minecraftSample, accounts: 4, servers: 8, nodes: ['pve1'] });
  const missing = fleet.servers[3];
  let report: Awaited<ReturnType<FleetImporter['run']>>;

  before(async () => {
    for (const s of fleet.servers) {
      if (s === missing) continue;
      env.fleet.proxmox.addContainer({
        vmid: s.vmid, node: s.node, hostname: `legacy-${s.vmid}`, memory: 2048, cores: 2, rootfs: 'local-lvm:8', net0: 'name=eth0,bridge=vmbr0,ip=dhcp',
        tags: [LEGACY_TAG], status: s.state,
      });
    }
    env.fleet.proxmox.requests.length = 0;
    report = await new FleetImporter({
      ds: env.tk.kernel.ds, logger: env.tk.kernel.logger, hosting: () => env.tk.kernel.optional(HostingProvider),
      types: () => env.tk.kernel.resolveAll(InstanceType), sections: () => env.tk.kernel.resolveAll(ImportedAccountSection),
    }).run(FleetImporter.parse(fleet));
  });

  it('creates and destroys nothing in Proxmox', () => {
    const writes = env.fleet.proxmox.requests.filter((r) => r.method === 'DELETE' || (r.method === 'POST' && /\/lxc$/.test(r.path)));
    expect(writes).to.deep.equal([]);
    expect(env.fleet.proxmox.containers().map((c) => c.vmid).sort()).to.deep.equal(fleet.servers.filter((s) => s !== missing).map((s) => s.vmid).sort());
  });

  it('marks every container it found as managed beside its old tag, and records where its agent is', async () => {
    expect(report.adoption.tagged).to.equal(7);
    for (const c of env.fleet.proxmox.containers()) expect(c.tags).to.include.members([LEGACY_TAG, 'zpack']);
    const rows = await env.tk.kernel.ds.query(`SELECT i.vmid, i.state, i.address, i.host FROM instance i JOIN fleet_import_row r ON r.target_id = i.id WHERE r.kind = 'server'`);
    const running = rows.filter((r: any) => r.vmid !== missing.vmid && r.state === 'running');
    expect(running.length).to.equal(6);
    expect(running.every((r: any) => typeof r.address === 'string' && r.address.includes(`/ct/${r.vmid}`) && r.host)).to.equal(true);
    // A stopped container has no address yet; the controller records it once the server runs.
    expect(report.adoption.addressPending).to.equal(1);
  });

  it('lists the server whose container is missing as not adopted, and keeps it', async () => {
    expect(report.adoption.failed.map((f) => f.ref)).to.deep.equal([missing.ref]);
    const [row] = await env.tk.kernel.ds.query(`SELECT i.state, i.deleted_at FROM instance i JOIN fleet_import_row r ON r.target_id = i.id WHERE r.ref = $1`, [missing.ref]);
    expect(row.deleted_at).to.equal(null);
  });

  it('the controller proposes what to do about the missing container (Level 3) and creates nothing', async () => {
    const pass = await env.tk.kernel.controller.dryRun();
    const [row] = await env.tk.kernel.ds.query(`SELECT i.id FROM instance i JOIN fleet_import_row r ON r.target_id = i.id WHERE r.ref = $1`, [missing.ref]);
    const about = pass.findings.filter((f) => f.instanceId === row.id);
    expect(about.map((f) => [f.kind, f.level, f.action])).to.deep.include(['container_missing', 3, 'recreate_container']);
    const creates = env.fleet.proxmox.requests.filter((r) => r.method === 'POST' && /\/lxc$/.test(r.path));
    expect(creates).to.deep.equal([]);
  });

  it('adopts nothing twice: a second import skips every row and tags nothing', async () => {
    const again = await new FleetImporter({
      ds: env.tk.kernel.ds, logger: env.tk.kernel.logger, hosting: () => env.tk.kernel.optional(HostingProvider),
      types: () => env.tk.kernel.resolveAll(InstanceType), sections: () => env.tk.kernel.resolveAll(ImportedAccountSection),
    }).run(FleetImporter.parse(fleet));
    expect(again.servers.skipped).to.equal(8);
    expect(again.adoption).to.deep.equal({ tagged: 0, alreadyManaged: 0, failed: [], addressPending: 0 });
  });
});
