import { expect } from 'chai';
import { EdgeProvider, InstanceAgent, Tokens } from '../../kernel/api';
import { importCommand } from '../../kernel/core/fleet-import/command';
import agentPlugin from '../../plugins/agent';
import cloudflarePlugin from '../../plugins/cloudflare';
import minecraftPlugin from '../../plugins/minecraft';
import proxmoxPlugin from '../../plugins/proxmox';
import { ProxmoxConnection } from '../../plugins/proxmox/connection';
import velocityPlugin from '../../plugins/velocity';
import { VelocityConnection } from '../../plugins/velocity/connection';
import { startTestKernel, type TestKernel, type TestUser } from '../harness';
import { eventWhere } from '../controller/fixture';

const simulated = {
  proxmox: { enabled: true, options: { simulate: true, simulator: { taskMs: 5 } } },
  agent: { enabled: true, options: { simulate: true, simulator: { bootMs: 20 }, driftChecksPerPass: 100 } },
  cloudflare: { enabled: true, options: { simulate: true } },
  velocity: { enabled: true, options: { simulate: true } },
  minecraft: { enabled: true, options: {} },
};

interface Sample {
  servers: { imported: number };
  adoption: { tagged: number; alreadyManaged: number; failed: Array<{ ref: string }> };
  sample: { drift: { missingContainer: string[]; missingEdge: string[]; missingProxy: string[]; legacyAgent: string[]; alreadyManaged: string[] }; seeded: Record<string, number> };
}

describe('zpack import --sample: the old system\'s world in the simulators the kernel runs, with drift', () => {
  let tk: TestKernel;
  let admin: TestUser;
  let report: Sample;
  const idOf = async (ref: string): Promise<string> => (await tk.kernel.ds.query(`SELECT target_id AS id FROM fleet_import_row WHERE kind = 'server' AND ref = $1`, [ref]))[0].id;
  const vmidOf = async (ref: string): Promise<number> => (await tk.kernel.ds.query(`SELECT i.vmid FROM instance i JOIN fleet_import_row r ON r.target_id = i.id WHERE r.ref = $1`, [ref]))[0].vmid;

  before(async function () {
    this.timeout(90_000);
    tk = await startTestKernel({
      plugins: [proxmoxPlugin, agentPlugin, cloudflarePlugin, velocityPlugin, minecraftPlugin],
      config: { plugins: simulated, controller: { enabled: true, repairLevel: 0, intervalSeconds: 0.2 } },
    });
    admin = await tk.user({ role: 'admin' });
    const lines: string[] = [];
    const code = await importCommand(tk.kernel, ['--sample', '--accounts', '8', '--servers', '24', '--json'], (l) => lines.push(l));
    expect(code).to.equal(0);
    report = JSON.parse(lines.join('\n'));
  });
  after(async () => {
    await tk?.stop();
  });

  it('creates the containers in the Proxmox simulator, but not the missing one, and adopts them', async () => {
    const { drift } = report.sample;
    const containers = tk.kernel.resolve(ProxmoxConnection).simulator!.containers();
    const missing = await vmidOf(drift.missingContainer[0]).catch(() => undefined);
    expect(containers).to.have.length(23);
    expect(containers.map((c) => c.vmid)).not.to.include(missing);
    for (const c of containers) expect(c.tags).to.include.members(['zlh', 'zpack']);
    expect(report.adoption.alreadyManaged).to.equal(drift.alreadyManaged.length).and.to.be.greaterThan(0);
    expect(report.adoption.tagged).to.equal(23 - drift.alreadyManaged.length);
    expect(report.adoption.failed.map((f) => f.ref)).to.deep.equal(drift.missingContainer);
    // Seeded through the simulator's control endpoint, not Proxmox's create.
    expect(tk.kernel.resolve(ProxmoxConnection).simulator!.requests.filter((r) => r.method === 'POST' && /\/lxc$/.test(r.path))).to.deep.equal([]);
  });

  it('puts the agents, SRV records and proxy registrations in place, leaving out the injected drift', async () => {
    const { drift, seeded } = report.sample;
    expect(seeded).to.include.keys('proxmox', 'agent', 'cloudflare', 'velocity');
    const agent = tk.kernel.resolve(InstanceAgent);
    const running = (await tk.kernel.ds.query(`SELECT i.vmid FROM instance i JOIN fleet_import_row r ON r.target_id = i.id WHERE i.state = 'running' AND r.ref <> $1`, [drift.missingContainer[0]])).map((r: { vmid: number }) => r.vmid);
    const legacy = await vmidOf(drift.legacyAgent[0]);
    for (const vmid of running.filter((v: number) => v !== legacy)) {
      const instance = (await tk.kernel.directory.findByVmid(vmid))!;
      expect((await agent.ready(instance)).provisioned, `agent ${vmid} answers our token`).to.equal(true);
    }
    const records = (await tk.kernel.resolve(EdgeProvider).list()).map((r) => r.name);
    const hasRecord = (vmid: number) => records.some((name) => name.includes(`.mc-${vmid}.`));
    expect(hasRecord(await vmidOf(drift.missingEdge[0]))).to.equal(false);
    expect(running.filter(hasRecord)).to.have.length(running.length - 1);
    const backends = tk.kernel.resolve(VelocityConnection).simulator!.backends().map((b) => b.name);
    expect(backends).not.to.include(`zp-${await vmidOf(drift.missingProxy[0])}`);
    expect(backends).to.include(`zp-${running[0]}`);
  });

  it('shows the drift in the controller\'s proposals: the missing container (Level 3), the missing SRV record, the legacy agent (Level 2)', async () => {
    const { drift } = report.sample;
    const missing = await eventWhere(tk, 'container_missing', { instanceId: await idOf(drift.missingContainer[0]) }, () => true, 'the missing container proposed');
    expect(missing.level).to.equal(3);
    await eventWhere(tk, 'edge_missing', { instanceId: await idOf(drift.missingEdge[0]) }, () => true, 'the missing SRV record found');
    const legacy = await eventWhere(tk, 'agent_token_rejected', { instanceId: await idOf(drift.legacyAgent[0]) }, (r) => r.state === 'proposed', 'the legacy agent proposed');
    expect(legacy.level).to.equal(2);
  });

  it('provisions our token into the legacy agent only once an operator approves, audited; then the agent answers', async function () {
    this.timeout(30_000);
    const { drift } = report.sample;
    const id = await idOf(drift.legacyAgent[0]);
    const instance = (await tk.kernel.directory.get(id))!;
    const agent = tk.kernel.resolve(InstanceAgent);
    const before = await agent.ready(instance).catch((e) => e);
    expect(before.details.agent.status, 'our token rejected before').to.equal(401);
    const event = await eventWhere(tk, 'agent_token_rejected', { instanceId: id }, (r) => r.state === 'proposed', 'the proposal');
    const [row] = await tk.kernel.ds.query(`SELECT agent_token FROM fleet_import_row WHERE target_id = $1`, [id]);
    expect(row.agent_token, 'kept until the approved repair').to.be.a('string');

    const approved = await admin.http.post(`/api/admin/repairs/${event.id}/approve`);
    expect(approved.status).to.equal(202);
    const done = await eventWhere(tk, 'agent_token_rejected', { instanceId: id }, (r) => r.state === 'done' || r.state === 'failed', 'the approved repair run');
    expect(done.state, JSON.stringify(done.outcome)).to.equal('done');
    const answer = await agent.ready(instance);
    expect(answer.provisioned).to.equal(true);
    const [after] = await tk.kernel.ds.query(`SELECT agent_token FROM fleet_import_row WHERE target_id = $1`, [id]);
    expect(after.agent_token, 'the old token is erased').to.equal(null);
    const audit = await tk.kernel.ds.query(`SELECT actor_id, action, target FROM audit_event WHERE target IN ($1, $2) ORDER BY created_at`, [event.id, id]);
    expect(audit.map((a: { action: string }) => a.action)).to.include.members(['admin.repair.approve', 'fleet.agent_token_provisioned']);
  });

  it('an agent whose token no one recorded stays a failed proposal, and nothing is sent to it', async () => {
    const { drift } = report.sample;
    // A server of the sample whose agent is healthy: make it a legacy agent the file said nothing about.
    const ref = (await tk.kernel.ds.query(`SELECT r.ref FROM fleet_import_row r JOIN instance i ON i.id = r.target_id WHERE r.kind = 'server' AND i.state = 'running' AND r.ref <> ALL($1::text[]) ORDER BY r.ref LIMIT 1`,
      [[...drift.missingContainer, ...drift.legacyAgent, ...drift.missingEdge, ...drift.missingProxy]]))[0].ref;
    const vmid = await vmidOf(ref);
    const agents = tk.kernel.resolve(Tokens.Simulators).require('agent');
    const seeded = await fetch(`${agents}/__sim/ct/${vmid}`, { method: 'PUT', body: JSON.stringify({ token: 'another-systems-token-0001', payload: { type: 'minecraft' } }) });
    expect(seeded.status).to.equal(200);
    const id = await idOf(ref);
    const event = await eventWhere(tk, 'agent_token_rejected', { instanceId: id }, (r) => r.state === 'proposed', 'the proposal');
    expect((await admin.http.post(`/api/admin/repairs/${event.id}/approve`)).status).to.equal(202);
    const failed = await eventWhere(tk, 'agent_token_rejected', { instanceId: id }, (r) => r.state === 'failed', 'the repair failed');
    expect(failed.outcome).to.include({ reason: 'no_legacy_token' });
    // The agent still holds the other system's token: nothing replaced it.
    const instance = (await tk.kernel.directory.get(id))!;
    expect((await tk.kernel.resolve(InstanceAgent).ready(instance).catch((e) => e)).details.agent.status).to.equal(401);
  });
});
