import { expect } from 'chai';
import type { TestUser } from '../harness';
import { create, settle, useFleetKernel, type Fleet } from '../provisioning/fixture';

/** A settled server of `user`, and a count of the /ready calls its agent has had so far. */
async function readyServer(fleet: Fleet, user: TestUser, key: string): Promise<{ id: string; vmid: number; readyCalls: () => number }> {
  const op = await settle(user, (await create(user, key)).body.operation.id);
  expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
  const { vmid } = (await user.http.get(`/api/servers/${op.instanceId}`)).body.server;
  return { id: op.instanceId, vmid, readyCalls: () => fleet.agents.requests.filter((q) => q.vmid === vmid && q.path === '/ready').length };
}

describe('GET /api/servers/:id/status', () => {
  describe('with the readiness cache off (status.readinessCacheMs: 0)', () => {
    const env = useFleetKernel({ status: { readinessCacheMs: 0 } });

    it('agentReady is exactly what the agent’s /ready says', async () => {
      const user = await env.tk.user();
      const { id, vmid } = await readyServer(env.fleet, user, 'ready');
      expect((await user.http.get(`/api/servers/${id}/status`)).body).to.include({ state: 'running', agentReady: true, ready: true });
      env.fleet.agents.faults.neverReady = new Set([vmid]);
      try {
        // Restarted, the server never finishes booting: the DB says running, the agent says not ready.
        expect((await user.http.post(`/api/servers/${id}/power`, { action: 'restart' })).status).to.equal(202);
        const status = (await user.http.get(`/api/servers/${id}/status`)).body;
        expect(status).to.include({ state: 'running', agentReady: false, ready: false });
      } finally {
        env.fleet.agents.faults.neverReady = false;
      }
    });

    it('asks the agent on every read', async () => {
      const user = await env.tk.user();
      const server = await readyServer(env.fleet, user, 'uncached');
      const before = server.readyCalls();
      for (let i = 0; i < 3; i++) expect((await user.http.get(`/api/servers/${server.id}/status`)).body.agentReady).to.equal(true);
      expect(server.readyCalls() - before).to.equal(3);
    });
  });

  describe('with a readiness cache of a minute', () => {
    const env = useFleetKernel({ status: { readinessCacheMs: 60_000 } });

    it('200 concurrent reads, and the reads after them, cost one agent /ready call within the cache TTL', async () => {
      const user = await env.tk.user();
      const server = await readyServer(env.fleet, user, 'popular');
      const before = server.readyCalls();
      const answers = await Promise.all(Array.from({ length: 200 }, () => user.http.get(`/api/servers/${server.id}/status`)));
      expect(answers.every((a) => a.status === 200 && a.body.agentReady === true)).to.equal(true);
      expect((await user.http.get(`/api/servers/${server.id}/status`)).body.agentReady).to.equal(true);
      expect(server.readyCalls() - before).to.equal(1);
    });
  });
});
