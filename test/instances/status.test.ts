import { expect } from 'chai';
import { create, settle, useFleetKernel } from '../provisioning/fixture';

describe('GET /api/servers/:id/status', () => {
  const env = useFleetKernel();

  it('agentReady is exactly what the agent’s /ready says', async () => {
    const user = await env.tk.user();
    const id = (await settle(user, (await create(user, 'ready')).body.operation.id)).instanceId;
    const vmid = (await user.http.get(`/api/servers/${id}`)).body.server.vmid;
    env.fleet.agents.faults.neverReady = new Set([vmid]);
    try {
      // Restarted, the server never finishes booting: the DB says running, the agent says not ready.
      expect((await user.http.post(`/api/servers/${id}/power`, { action: 'restart' })).status).to.equal(202);
      await new Promise((r) => setTimeout(r, 2100));
      const status = (await user.http.get(`/api/servers/${id}/status`)).body;
      expect(status).to.include({ state: 'running', agentReady: false, ready: false });
    } finally {
      env.fleet.agents.faults.neverReady = false;
    }
  });

  it('200 concurrent reads cost one agent /ready call within the cache TTL', async () => {
    const user = await env.tk.user();
    const id = (await settle(user, (await create(user, 'popular')).body.operation.id)).instanceId;
    const vmid = (await user.http.get(`/api/servers/${id}`)).body.server.vmid;
    await new Promise((r) => setTimeout(r, 2100));
    const before = env.fleet.agents.requests.filter((q) => q.vmid === vmid && q.path === '/ready').length;
    const answers = await Promise.all(Array.from({ length: 200 }, () => user.http.get(`/api/servers/${id}/status`)));
    expect(answers.every((a) => a.status === 200 && a.body.agentReady === true)).to.equal(true);
    const calls = env.fleet.agents.requests.filter((q) => q.vmid === vmid && q.path === '/ready').length - before;
    expect(calls).to.equal(1);
  });
});
