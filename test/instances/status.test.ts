import { expect } from 'chai';
import type { TestKernel } from '../harness';
import { create, settle, startFleet, startFleetKernel, type Fleet } from '../provisioning/fixture';

describe('GET /api/servers/:id/status', () => {
  let fleet: Fleet;
  let tk: TestKernel;
  before(async () => {
    fleet = await startFleet();
    tk = await startFleetKernel(fleet);
  });
  after(async () => {
    await tk?.stop();
    await fleet?.stop();
  });

  it('agentReady is exactly what the agent’s /ready says', async () => {
    const user = await tk.user();
    const id = (await settle(user, (await create(user, 'ready')).body.operation.id)).instanceId;
    const vmid = (await user.http.get(`/api/servers/${id}`)).body.server.vmid;
    fleet.agents.faults.neverReady = new Set([vmid]);
    try {
      // Restarted, the server never finishes booting: the DB says running, the agent says not ready.
      expect((await user.http.post(`/api/servers/${id}/power`, { action: 'restart' })).status).to.equal(202);
      await new Promise((r) => setTimeout(r, 2100));
      const status = (await user.http.get(`/api/servers/${id}/status`)).body;
      expect(status).to.include({ state: 'running', agentReady: false, ready: false });
    } finally {
      fleet.agents.faults.neverReady = false;
    }
  });

  it('200 concurrent reads cost one agent /ready call within the cache TTL', async () => {
    const user = await tk.user();
    const id = (await settle(user, (await create(user, 'popular')).body.operation.id)).instanceId;
    const vmid = (await user.http.get(`/api/servers/${id}`)).body.server.vmid;
    await new Promise((r) => setTimeout(r, 2100));
    const before = fleet.agents.requests.filter((q) => q.vmid === vmid && q.path === '/ready').length;
    const answers = await Promise.all(Array.from({ length: 200 }, () => user.http.get(`/api/servers/${id}/status`)));
    expect(answers.every((a) => a.status === 200 && a.body.agentReady === true)).to.equal(true);
    const calls = fleet.agents.requests.filter((q) => q.vmid === vmid && q.path === '/ready').length - before;
    expect(calls).to.equal(1);
  });
});
