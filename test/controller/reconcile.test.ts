import { expect } from 'chai';
import { HostingProvider, KernelQueue } from '../../kernel/api';
import { CloudflareConnection } from '../../plugins/cloudflare/connection';
import { srvRecordName } from '../../plugins/cloudflare/provider';
import type { TestUser } from '../harness';
import { create, gameBody, settle, waitFor } from '../provisioning/fixture';
import { ZONE, eventWhere, passes, repairsOf, startControllerEnv, type ControllerEnv } from './fixture';

interface Server { id: string; vmid: number; node: string; ownerId: string }

describe('The controller: findings, dry run and repairs against the simulators', () => {
  let env: ControllerEnv;
  let owner: TestUser;
  let admin: TestUser;
  const servers: Server[] = [];
  const level = (n: number) => { env.tk.config.controller.repairLevel = n; };
  const srvOf = (s: Server) => env.cloudflare.records(ZONE.id).filter((r) => r.name === srvRecordName('_minecraft._tcp', s.vmid, ZONE.name));
  const deleteSrv = async (s: Server) => {
    const { client, zoneId } = env.tk.kernel.resolve(CloudflareConnection);
    for (const r of srvOf(s)) await client.deleteDnsRecord(zoneId, r.id);
    expect(srvOf(s)).to.have.length(0);
  };
  const createServer = async (user: TestUser, key: string): Promise<Server> => {
    const op = await settle(user, (await create(user, key, gameBody(key))).body.operation.id);
    expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
    const server = (await user.http.get(`/api/servers/${op.instanceId}`)).body.server;
    return { id: server.id, vmid: server.vmid, node: server.node, ownerId: user.id };
  };

  before(async function () {
    this.timeout(90_000);
    env = await startControllerEnv();
    owner = await env.tk.user();
    admin = await env.tk.user({ role: 'admin' });
    for (const n of [1, 2, 3]) servers.push(await createServer(owner, `ctl-${n}`));
    await waitFor(() => servers.every((s) => env.bridge.backends().some((b) => b.name === `zp-${s.vmid}`)), 'every server registered with the proxy');
    await passes(env.tk);
  });
  after(async () => {
    await env?.stop();
  });
  afterEach(() => level(0));

  it('records nothing while the database and the remote systems agree', async () => {
    await passes(env.tk);
    const rows = await env.tk.kernel.ds.query(`SELECT kind, instance_id FROM repair_event WHERE resolved_at IS NULL`);
    expect(rows).to.deep.equal([]);
  });

  describe('an SRV record deleted in Cloudflare', () => {
    it('is an edge finding in dry run, and nothing changes', async () => {
      const s = servers[0];
      await deleteSrv(s);
      const event = await eventWhere(env.tk, 'edge_missing', { instanceId: s.id }, (r) => r.state === 'proposed', 'a proposed edge finding');
      expect(event.level).to.equal(1);
      await passes(env.tk, 3);
      expect(srvOf(s), 'no record published in dry run').to.have.length(0);
      const rows = await repairsOf(env.tk, 'edge_missing', { instanceId: s.id });
      expect(rows, `the same drift updates its event: ${JSON.stringify(rows)}`).to.have.length(1);
      expect(rows[0].sightings).to.be.greaterThan(1);
      expect(rows[0].state).to.equal('proposed');
    });

    it('is republished within a pass at Level 1, the event done, and the next passes record nothing new', async () => {
      const s = servers[0];
      level(1);
      const done = await eventWhere(env.tk, 'edge_missing', { instanceId: s.id }, (r) => r.state === 'done', 'the edge repair done');
      expect(done.resolved_at).to.not.equal(null);
      expect(srvOf(s)).to.have.length(1);
      expect(srvOf(s)[0].data).to.deep.include({ target: 'proxy.play.example.test', port: 25577 });
      const [{ at }] = await env.tk.kernel.ds.query(`SELECT now() AS at`);
      await passes(env.tk, 3);
      expect(await repairsOf(env.tk, 'edge_missing', { instanceId: s.id })).to.have.length(1);
      const fresh = await env.tk.kernel.ds.query(`SELECT kind FROM repair_event WHERE created_at > $1 OR (instance_id = $2 AND resolved_at IS NULL)`, [at, s.id]);
      expect(fresh, 'nothing new recorded').to.deep.equal([]);
      await waitFor(() => env.ops.messages.find((m) => m.template === 'repair_done' && m.data?.kind === 'edge_missing'), 'a repair-done notice to ops');
    });

    it('is recorded but not repaired while a maintenance window holds the node, and repaired once it ends', async () => {
      const s = servers[1];
      level(1);
      env.calendar.window = { id: 'mw-1', node: s.node, startsAt: new Date(Date.now() - 60_000), endsAt: new Date(Date.now() + 3_600_000), message: 'kernel update' };
      try {
        await deleteSrv(s);
        const held = await eventWhere(env.tk, 'edge_missing', { instanceId: s.id }, (r) => r.state === 'skipped', 'a skipped edge finding');
        expect(held.outcome).to.include({ reason: 'maintenance', windowId: 'mw-1' });
        await passes(env.tk, 3);
        expect(srvOf(s)).to.have.length(0);
      } finally {
        env.calendar.window = null;
      }
      await eventWhere(env.tk, 'edge_missing', { instanceId: s.id }, (r) => r.state === 'done', 'the edge repair after the window');
      expect(srvOf(s)).to.have.length(1);
    });
  });

  it('marks a provisioning operation stuck past its deadline stale and releases its lease', async () => {
    const [op] = await env.tk.kernel.ds.query(
      `INSERT INTO provisioning_operation (account_id, kind, state, phase, input, checkpoint, attempts, lease_owner, lease_until, deadline_at)
       VALUES ($1, 'create', 'running', 'create_container', '{}', '{}', 1, 'dead-worker', now() - interval '20 minutes', now() - interval '10 minutes')
       RETURNING id`, [owner.id]);
    level(1);
    const done = await eventWhere(env.tk, 'stale_operation', { operationId: op.id }, (r) => r.state === 'done', 'the stale repair done');
    expect(done.level).to.equal(1);
    const [row] = await env.tk.kernel.ds.query(`SELECT state, lease_owner, lease_until, error FROM provisioning_operation WHERE id = $1`, [op.id]);
    expect(row).to.deep.include({ state: 'stale', lease_owner: null, lease_until: null });
    expect(row.error.code).to.equal('stale');
    const api = await owner.http.get(`/api/operations/${op.id}`);
    expect(api.body.state).to.equal('stale');
  });

  it('proposes deleting an orphan container at Level 3 and leaves the container alone', async () => {
    env.fleet.proxmox.addContainer({
      vmid: 5990, node: 'pve1', hostname: 'zp-5990', memory: 1024, cores: 1, rootfs: 'local-lvm:8', net0: '', tags: ['zpack', 'op-lost'], status: 'running',
    });
    level(1);
    const event = await eventWhere(env.tk, 'container_orphan', {}, (r) => r.state === 'proposed', 'an orphan proposal');
    expect(event.level).to.equal(3);
    const refused = await admin.http.post(`/api/admin/repairs/${event.id}/approve`);
    expect(refused.status).to.equal(409);
    await passes(env.tk, 3);
    expect(env.fleet.proxmox.containers().map((c) => c.vmid)).to.include(5990);
    expect(env.fleet.proxmox.requests.filter((r) => r.method === 'DELETE' || r.path.includes('/5990/status/'))).to.deep.equal([]);
    expect((await repairsOf(env.tk, 'container_orphan'))[0].state).to.equal('proposed');
  });

  it('proposes re-sending a lost provisioning payload at Level 2 and sends nothing until an operator approves', async () => {
    const s = servers[2];
    level(1);
    const from = env.fleet.agents.requests.length;
    await fetch(`${env.fleet.agents.url}/__sim/ct/${s.vmid}`, { method: 'DELETE' });
    const event = await eventWhere(env.tk, 'agent_unprovisioned', { instanceId: s.id }, (r) => r.state === 'proposed', 'a Level 2 proposal');
    expect(event.level).to.equal(2);
    await passes(env.tk, 3);
    const provisions = () => env.fleet.agents.requests.slice(from).filter((r) => r.vmid === s.vmid && r.method === 'POST' && r.path === '/provision');
    expect(provisions(), 'nothing sent before the approval').to.deep.equal([]);

    expect((await owner.http.post(`/api/admin/repairs/${event.id}/approve`)).status, 'only admins approve').to.equal(403);
    const approved = await admin.http.post(`/api/admin/repairs/${event.id}/approve`);
    expect(approved.status).to.equal(202);
    expect(approved.body.repair).to.include({ id: event.id, state: 'queued', approvedBy: admin.id });
    await eventWhere(env.tk, 'agent_unprovisioned', { instanceId: s.id }, (r) => r.state === 'done', 'the approved repair done');
    expect(provisions()).to.have.length(1);
    expect(env.fleet.agents.containers().get(s.vmid)?.provisionedPayload).to.include({ instanceId: s.id });
    const audit = await env.tk.kernel.ds.query(`SELECT actor_id, action FROM audit_event WHERE target = $1`, [event.id]);
    expect(audit).to.deep.equal([{ actor_id: admin.id, action: 'admin.repair.approve' }]);
  });

  it('follows a container whose address changed with the stored address, then the proxy registration', async () => {
    const s = servers[1];
    level(1);
    env.fleet.proxmox.readdress(s.vmid, '10.77.0.9');
    await waitFor(() => env.bridge.backends().find((b) => b.name === `zp-${s.vmid}` && b.address === '10.77.0.9'), 'the registration at the new address', 20_000);
    const [row] = await env.tk.kernel.ds.query(`SELECT host FROM instance WHERE id = $1`, [s.id]);
    expect(row.host).to.equal('10.77.0.9');
    await eventWhere(env.tk, 'address_changed', { instanceId: s.id }, (r) => r.state === 'done', 'the address repair done');
    await eventWhere(env.tk, 'proxy_wrong', { instanceId: s.id }, (r) => r.state === 'done', 'the registration repair done');
  });

  it('registers every ready server again after Velocity restarts empty, without anyone calling resync', async () => {
    level(1);
    await env.bridge.restart();
    expect(env.bridge.backends()).to.deep.equal([]);
    const names = servers.map((s) => `zp-${s.vmid}`).sort();
    await waitFor(() => names.every((n) => env.bridge.backends().some((b) => b.name === n)), 'every ready server registered again', 20_000);
    expect(env.bridge.backends().map((b) => b.name).sort()).to.include.members(names);
  });

  it('keeps a server whose readiness was never observed (lost with Redis, or taken over) routed, and records its readiness from its agent', async () => {
    const s = servers[0];
    const flag = `${env.tk.config.redis.prefix}:ready:${s.id}`;
    const readyFired: string[] = [];
    env.tk.kernel.hooks.onInstanceReady.tapPromise('readiness-test', async (i) => { if (i.id === s.id) readyFired.push(i.id); });
    await env.tk.kernel.redis.del(flag);
    await passes(env.tk);
    // Dry run: seen, proposed at Level 1, and nothing taken out of the proxy for being "unready".
    const event = await eventWhere(env.tk, 'readiness_unrecorded', { instanceId: s.id }, (r) => r.state === 'proposed', 'the unrecorded readiness reported');
    expect(event.level).to.equal(1);
    expect(await repairsOf(env.tk, 'proxy_unready', { instanceId: s.id })).to.deep.equal([]);
    expect(env.bridge.backends().some((b) => b.name === `zp-${s.vmid}`)).to.equal(true);
    expect(await env.tk.kernel.redis.get(flag)).to.equal(null);

    level(1);
    await eventWhere(env.tk, 'readiness_unrecorded', { instanceId: s.id }, (r) => r.state === 'done', 'the readiness recorded');
    expect(await env.tk.kernel.redis.get(flag)).to.equal('1');
    expect(readyFired).to.deep.equal([s.id]);
    await passes(env.tk);
    expect(readyFired, 'onInstanceReady fires once per transition').to.have.length(1);
    expect(await repairsOf(env.tk, 'proxy_unready', { instanceId: s.id })).to.deep.equal([]);
  });

  it('never repairs a suspended account\'s server: its stopped container stays stopped and its record missing', async () => {
    const other = await env.tk.user();
    const s = await createServer(other, 'ctl-suspended');
    env.billing.suspended.add(other.id);
    await env.tk.kernel.resolve(HostingProvider).stop({ vmid: s.vmid, node: s.node });
    await deleteSrv(s);
    level(1);
    const stopped = await eventWhere(env.tk, 'container_stopped', { instanceId: s.id }, (r) => r.state === 'skipped', 'the stopped container skipped');
    expect(stopped.outcome).to.deep.equal({ reason: 'billing_suspended' });
    const edge = await eventWhere(env.tk, 'edge_missing', { instanceId: s.id }, (r) => r.state === 'skipped', 'the edge finding skipped');
    expect(edge.outcome).to.deep.equal({ reason: 'billing_suspended' });
    // Even an operator's approval does not bring it back while the account is suspended.
    expect((await admin.http.post(`/api/admin/repairs/${stopped.id}/approve`)).status).to.equal(409);
    await passes(env.tk, 3);
    expect(env.fleet.proxmox.containers().find((c) => c.vmid === s.vmid)?.status).to.equal('stopped');
    expect(srvOf(s)).to.have.length(0);
  });

  it('leaves a queued repair of a deposed controller term alone', async () => {
    const [{ token }] = await env.tk.kernel.ds.query(`SELECT token FROM loop_fence WHERE loop = 'kernel.controller'`);
    const [event] = await env.tk.kernel.ds.query(
      `INSERT INTO repair_event (kind, subject, detector, evidence, action, level, state, fencing_token, last_seen_at, attempts)
       VALUES ('old_term_drift', 'old_term_drift:x', 'test', '{}', 'anything', 1, 'queued', $1, now(), 1) RETURNING id`, [Number(token) - 1]);
    const jobId = await env.tk.kernel.queues.enqueue(KernelQueue.repair, 'repair.run', { eventId: event.id }, { jobId: `repair-${event.id}-1` });
    const job = env.tk.kernel.queues.queue(KernelQueue.repair);
    await waitFor(async () => (await job.getJobState(jobId)) === 'completed', 'the repair job ran');
    const [row] = await env.tk.kernel.ds.query(`SELECT state, outcome, resolved_at FROM repair_event WHERE id = $1`, [event.id]);
    expect(row).to.deep.equal({ state: 'queued', outcome: null, resolved_at: null });
  });

  describe('GET /api/admin/repairs', () => {
    it('pages newest first and filters by state and kind', async () => {
      const all = await admin.http.get('/api/admin/repairs?limit=2');
      expect(all.status).to.equal(200);
      expect(all.body.repairs).to.have.length(2);
      expect(all.body.nextCursor).to.be.a('string');
      const next = await admin.http.get(`/api/admin/repairs?limit=2&cursor=${all.body.nextCursor}`);
      expect(next.body.repairs.map((r: any) => r.id)).to.not.include.members(all.body.repairs.map((r: any) => r.id));
      const done = await admin.http.get('/api/admin/repairs?state=done&kind=edge_missing');
      expect(done.body.repairs.length).to.be.greaterThan(0);
      expect(done.body.repairs.every((r: any) => r.state === 'done' && r.kind === 'edge_missing')).to.equal(true);
      expect(done.body.repairs[0]).to.have.keys(['id', 'kind', 'detector', 'instanceId', 'operationId', 'evidence', 'action', 'level', 'state', 'outcome',
        'fencingToken', 'sightings', 'attempts', 'lastSeenAt', 'approvedBy', 'approvedAt', 'resolvedAt', 'createdAt', 'updatedAt']);
    });

    it('is for admins only and refuses unknown filters', async () => {
      expect((await owner.http.get('/api/admin/repairs')).status).to.equal(403);
      expect((await admin.http.get('/api/admin/repairs?state=broken')).status).to.equal(400);
      expect((await admin.http.get('/api/admin/repairs?colour=red')).status).to.equal(400);
    });
  });
});
