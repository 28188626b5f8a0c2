import { expect } from 'chai';
import type { AccountView } from '../../kernel/api';
import velocityPlugin from '../../plugins/velocity';
import { VelocityConnection } from '../../plugins/velocity/connection';
import type { BridgeSimulator } from '../../plugins/velocity/testing/simulator';
import { startTestKernel, type TestClient, type TestKernel, type TestUser } from '../harness';
import { AgentSimulator } from '../../plugins/agent/testing/simulator';
import { ProxmoxSimulator } from '../../plugins/proxmox/testing/simulator';
import { create, fleetConfig, fleetPlugins, gameBody, settle, type Fleet } from '../provisioning/fixture';

const PROXY_TOKEN = 'test-proxy-token';

interface Backend { name: string; address: string; port: number; forcedHosts: string[] }
const byName = (a: Backend, b: Backend) => a.name.localeCompare(b.name);

describe('Velocity: proxy registration follows readiness', () => {
  let fleet: Fleet;
  let tk: TestKernel;
  let bridge: BridgeSimulator;
  let proxy: TestClient;
  let admin: TestUser;

  before(async () => {
    fleet = await ownFleet();
    tk = await startTestKernel({
      plugins: [...fleetPlugins, velocityPlugin],
      config: fleetConfig(fleet, {
        // Long enough that the server kept unready stays provisioning for the whole suite.
        provisioning: { readyTimeoutSeconds: 60 },
        plugins: { velocity: { enabled: true, options: { simulate: true, simulator: { port: 0 }, proxyToken: PROXY_TOKEN, timeoutMs: 2000 } } },
      }),
    });
    bridge = tk.kernel.resolve(VelocityConnection).simulator!;
    proxy = tk.http.as(PROXY_TOKEN);
    admin = await tk.user({ role: 'admin' });
  });
  after(async () => {
    if (fleet) fleet.agents.faults.neverReady = false;
    await tk?.stop();
    await fleet?.stop();
  });

  describe('with no server ready', () => {
    it('rehydrate answers an empty list', async () => {
      const res = await proxy.get('/api/velocity/rehydrate');
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ servers: [] });
      expect(bridge.backends()).to.deep.equal([]);
    });

    it('resync registers nothing', async () => {
      const res = await admin.http.post('/api/velocity/resync');
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ registered: 0, failed: [] });
      expect(bridge.requests.filter((r) => r.method === 'PUT')).to.deep.equal([]);
    });
  });

  describe('the internal endpoints', () => {
    const event = { server: 'zp-5000', event: 'proxy_ping_ok', at: '2026-04-02T12:00:00.000Z' };

    it('answer 401 with the error envelope to a missing, wrong or user token', async () => {
      const user = await tk.user();
      for (const client of [tk.http, tk.http.as('wrong-token'), user.http]) {
        for (const res of [await client.get('/api/velocity/rehydrate'), await client.post('/api/velocity/events', event)]) {
          expect(res.status).to.equal(401);
          expect(res.body.error).to.include({ code: 'unauthenticated', requestId: res.headers.get('x-request-id') });
        }
      }
    });

    it('answer 400 naming the bad fields of an event', async () => {
      const res = await proxy.post('/api/velocity/events', { server: 'zp-5000', event: 'exploded', at: 'yesterday' });
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal('invalid_request');
      expect(res.body.error.details.fields.map((f: any) => f.path)).to.deep.equal(['body.event', 'body.at']);
    });

    it('answer 404 to an event about a server zpack does not have', async () => {
      // zp-99999999999: a number no int column holds must not reach the database query.
      for (const server of ['zp-999999', 'lobby', 'zp-99999999999']) {
        const res = await proxy.post('/api/velocity/events', { ...event, server });
        expect(res.status).to.equal(404);
        expect(res.body.error.code).to.equal('not_found');
      }
    });

    it('let only admins resync', async () => {
      expect((await tk.http.post('/api/velocity/resync')).status).to.equal(401);
      expect((await proxy.post('/api/velocity/resync')).status).to.equal(401);
      expect((await (await tk.user()).http.post('/api/velocity/resync')).status).to.equal(403);
    });
  });

  describe('three servers and one that never gets ready', () => {
    let user: TestUser;
    let account: AccountView;
    let stuck: { operationId: string; id: string; vmid: number };
    const servers: Array<{ id: string; vmid: number; backend: Backend }> = [];
    const expected = () => servers.map((s) => s.backend).sort(byName);
    const status = async (id: string) => (await user.http.get(`/api/servers/${id}/status`)).body;

    before(async function () {
      this.timeout(60_000);
      user = await tk.user();
      account = { id: user.id, email: user.email, role: 'user', billingExempt: false };
      fleet.agents.faults.neverReady = true;
      const stuckOp = (await create(user, 'stuck', gameBody('Stuck'))).body.operation;
      stuck = { operationId: stuckOp.id, ...(await waitingForReadiness(user, stuckOp.id)) };
      fleet.agents.faults.neverReady = new Set([stuck.vmid]);

      const ops = await Promise.all([1, 2, 3].map(async (n) => (await create(user, `ready-${n}`, gameBody(`Ready ${n}`))).body.operation));
      for (const op of await Promise.all(ops.map((o) => settle(user, o.id)))) {
        expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
        const server = (await user.http.get(`/api/servers/${op.instanceId}`)).body.server;
        const game = server.ports.find((p: any) => p.name === 'game').port;
        // No edge is enabled in this suite: no player address, so no forced host.
        servers.push({ id: server.id, vmid: server.vmid, backend: { name: `zp-${server.vmid}`, address: '127.0.0.1', port: game, forcedHosts: [] } });
      }
    });

    it('registers each server once it is ready, once, and never before', () => {
      expect(bridge.backends().sort(byName)).to.deep.equal(expected());
      for (const { vmid, backend } of servers) {
        const puts = bridge.requests.filter((r) => r.method === 'PUT' && r.path === `/servers/${backend.name}`);
        expect(puts, backend.name).to.have.length(1);
        expect(puts[0].at.getTime()).to.be.at.least(fleet.agents.containers().get(vmid)!.readyAt!);
      }
    });

    it('never registers nor rehydrates the server that is still provisioning', async () => {
      expect((await user.http.get(`/api/servers/${stuck.id}`)).body.server.state).to.equal('provisioning');
      expect(bridge.requests.filter((r) => r.path === `/servers/zp-${stuck.vmid}`)).to.deep.equal([]);
      const res = await proxy.get('/api/velocity/rehydrate');
      expect(res.status).to.equal(200);
      expect(res.body.servers.sort(byName)).to.deep.equal(expected());
    });

    it('shows the registration in the server status', async () => {
      const { proxy: section } = await status(servers[0].id);
      expect(section).to.include({ state: 'registered', lastEvent: 'registered_by_control_plane' });
      expect(Date.parse(section.at)).to.be.closeTo(Date.now(), 60_000);
    });

    it('re-registers every ready server and no other after the proxy restarts', async () => {
      await bridge.restart();
      expect(bridge.backends()).to.deep.equal([]);
      const res = await admin.http.post('/api/velocity/resync');
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ registered: 3, failed: [] });
      expect(bridge.backends().sort(byName)).to.deep.equal(expected());
    });

    it('reports the servers a resync could not register, by name', async () => {
      bridge.faults.errorRatio = 1;
      try {
        const res = await admin.http.post('/api/velocity/resync');
        expect(res.body.registered).to.equal(0);
        expect(res.body.failed.map((f: any) => f.name).sort()).to.deep.equal(expected().map((b) => b.name));
        expect(res.body.failed[0].error).to.equal('velocity register: proxy busy');
        expect((await status(servers[0].id)).proxy).to.include({ state: 'register_failed' });
      } finally {
        bridge.faults.clear();
      }
      expect((await admin.http.post('/api/velocity/resync')).body).to.deep.equal({ registered: 3, failed: [] });
      expect((await status(servers[0].id)).proxy).to.include({ state: 'registered', lastEvent: 'registered_by_control_plane' });
    });

    it('records what the proxy reports in the server status', async () => {
      const { id, backend } = servers[1];
      for (const [event, state] of [['registered_with_proxy', 'registered'], ['proxy_ping_failed', 'unreachable'], ['proxy_ping_ok', 'reachable']]) {
        const at = new Date().toISOString();
        const res = await proxy.post('/api/velocity/events', { server: backend.name, event, at });
        expect(res.status).to.equal(200);
        expect((await status(id)).proxy).to.deep.equal({ state, lastEvent: event, at });
      }
      const reported = (await status(id)).proxy;
      expect((await admin.http.post('/api/velocity/resync')).body.registered).to.equal(3);
      expect((await status(id)).proxy, 'a resync keeps what the proxy reported').to.deep.equal(reported);
    });

    it('takes the account off the proxy when billing suspends it, and back on when it is restored', async () => {
      await tk.kernel.hooks.onBillingSuspend.promise(account, 'warning');
      expect(bridge.backends()).to.have.length(3);
      await tk.kernel.hooks.onBillingSuspend.promise(account, 'suspended');
      expect(bridge.backends()).to.deep.equal([]);
      expect((await status(servers[2].id)).proxy).to.include({ state: 'suspended', lastEvent: 'suspended_by_billing' });
      await tk.kernel.hooks.onBillingRestore.promise(account, 'active');
      expect(bridge.backends().sort(byName)).to.deep.equal(expected());
      expect((await status(servers[2].id)).proxy).to.include({ state: 'registered' });
    });

    it('repairs proxy_missing for a ready server, and refuses it for one that is not ready', async () => {
      await bridge.restart();
      const repaired = await tk.kernel.hooks.onRepair.promise({ kind: 'proxy_missing', instanceId: servers[0].id, detail: {} });
      expect(repaired).to.deep.equal({ action: 'proxy_reregister', ok: true });
      expect(bridge.backends()).to.deep.equal([servers[0].backend]);
      const refused = await tk.kernel.hooks.onRepair.promise({ kind: 'proxy_missing', instanceId: stuck.id, detail: {} });
      expect(refused).to.deep.include({ action: 'proxy_reregister', ok: false });
      expect(bridge.backends()).to.deep.equal([servers[0].backend]);
      expect(await tk.kernel.hooks.onRepair.promise({ kind: 'edge_missing', instanceId: servers[0].id, detail: {} })).to.equal(undefined);
      await admin.http.post('/api/velocity/resync');
    });

    it('registers the late server as soon as it gets ready', async () => {
      fleet.agents.faults.neverReady = false;
      const op = await settle(user, stuck.operationId);
      expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
      const puts = bridge.requests.filter((r) => r.method === 'PUT' && r.path === `/servers/zp-${stuck.vmid}`);
      expect(puts).to.have.length(1);
      expect(puts[0].at.getTime()).to.be.at.least(fleet.agents.containers().get(stuck.vmid)!.readyAt!);
      expect(bridge.backends().map((b) => b.name)).to.include(`zp-${stuck.vmid}`);
    });

    it('unregisters a server when it is deleted', async () => {
      const op = await settle(user, (await user.http.delete(`/api/servers/${servers[0].id}`)).body.operation.id);
      expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
      expect(op.report.find((s: any) => s.step === 'proxy_unregister')).to.include({ outcome: 'done' });
      expect(bridge.backends().map((b) => b.name)).not.to.include(servers[0].backend.name);
      expect((await proxy.get('/api/velocity/rehydrate')).body.servers.map((b: Backend) => b.name)).not.to.include(servers[0].backend.name);
    });

    it("counts a server the restarted proxy already forgot as 'already_gone'", async () => {
      await bridge.restart();
      const op = await settle(user, (await user.http.delete(`/api/servers/${servers[1].id}`)).body.operation.id);
      expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
      expect(op.report.find((s: any) => s.step === 'proxy_unregister')).to.include({ outcome: 'already_gone' });
    });
  });

  describe('a server running but not ready, as after a power restart that never finishes booting', () => {
    let user: TestUser;
    let restarted: { id: string; name: string };
    const names = (backends: Backend[]) => backends.map((b) => b.name);

    before(async function () {
      this.timeout(30_000);
      user = await tk.user();
      const op = await settle(user, (await create(user, 'restarted', gameBody('Restarted'))).body.operation.id);
      expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
      const { vmid } = (await user.http.get(`/api/servers/${op.instanceId}`)).body.server;
      restarted = { id: op.instanceId, name: `zp-${vmid}` };
      expect(names((await proxy.get('/api/velocity/rehydrate')).body.servers)).to.include(restarted.name);
      fleet.agents.faults.neverReady = new Set([vmid]);
      expect((await user.http.post(`/api/servers/${op.instanceId}/power`, { action: 'restart' })).status).to.equal(202);
      expect((await user.http.get(`/api/servers/${op.instanceId}`)).body.server.state).to.equal('running');
    });
    after(() => { fleet.agents.faults.neverReady = false; });

    it('is left out of rehydrate', async () => {
      const res = await proxy.get('/api/velocity/rehydrate');
      expect(res.status).to.equal(200);
      expect(res.body.servers.length, 'the other ready servers are still there').to.be.greaterThan(0);
      expect(names(res.body.servers)).not.to.include(restarted.name);
    });

    it('is not registered by a resync after the proxy restarts, nor by a proxy_missing repair', async () => {
      const earlier = new Set(bridge.requests);
      await bridge.restart();
      const res = await admin.http.post('/api/velocity/resync');
      expect(res.status).to.equal(200);
      expect(res.body.failed).to.deep.equal([]);
      expect(res.body.registered).to.equal(bridge.backends().length).and.to.be.greaterThan(0);
      expect(names(bridge.backends())).not.to.include(restarted.name);
      const repair = await tk.kernel.hooks.onRepair.promise({ kind: 'proxy_missing', instanceId: restarted.id, detail: {} });
      expect(repair).to.deep.include({ action: 'proxy_reregister', ok: false });
      expect(bridge.requests.filter((r) => !earlier.has(r) && r.path === `/servers/${restarted.name}`)).to.deep.equal([]);
    });
  });
});

/** startFleet's simulators, with the agents on a free port too, so this suite runs beside others. */
async function ownFleet(): Promise<Fleet> {
  const agents = await new AgentSimulator({ port: 0, bootMs: 30 }).start();
  const proxmox = new ProxmoxSimulator({ port: 0, taskMs: 5, agentSimulatorUrl: agents.url });
  await proxmox.start();
  return { proxmox, agents, stop: async () => { await proxmox.stop(); await agents.stop(); } };
}

/** Polls a create operation until it waits for the agent's readiness; returns its instance. */
async function waitingForReadiness(user: TestUser, operationId: string): Promise<{ id: string; vmid: number }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const op = (await user.http.get(`/api/operations/${operationId}`)).body;
    if (op.phase === 'wait_ready') {
      const server = (await user.http.get(`/api/servers/${op.instanceId}`)).body.server;
      return { id: server.id, vmid: server.vmid };
    }
    if (op.state !== 'queued' && op.state !== 'running') throw new Error(`operation ${operationId} ended ${op.state} before waiting for readiness`);
    if (Date.now() > deadline) throw new Error(`operation ${operationId} still in ${op.phase} after 20 s`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
