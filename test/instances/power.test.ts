import { expect } from 'chai';
import { create, settle, useFleetKernel } from '../provisioning/fixture';

describe('POST /api/servers/:id/power', () => {
  const env = useFleetKernel();

  it('stops and starts the server process through the agent', async () => {
    const user = await env.tk.user();
    const id = (await settle(user, (await create(user, 'power')).body.operation.id)).instanceId;
    const vmid = (await user.http.get(`/api/servers/${id}`)).body.server.vmid;
    const stop = await user.http.post(`/api/servers/${id}/power`, { action: 'stop' });
    expect(stop.status).to.equal(202);
    expect(stop.body).to.deep.equal({ action: 'stop', state: 'stopped' });
    expect(env.fleet.agents.containers().get(vmid)!.state).to.equal('stopped');
    expect((await user.http.get(`/api/servers/${id}/status`)).body).to.include({ state: 'stopped', ready: false });
    expect((await user.http.post(`/api/servers/${id}/power`, { action: 'start' })).status).to.equal(202);
    expect(['starting', 'running']).to.include(env.fleet.agents.containers().get(vmid)!.state);
  });

  it('is refused with 409 operation_in_progress while an operation runs', async () => {
    const user = await env.tk.user();
    env.fleet.proxmox.faults.latencyMs = 300;
    try {
      const accepted = await create(user, 'busy');
      const res = await user.http.post(`/api/servers/${accepted.body.operation.instanceId}/power`, { action: 'restart' });
      expect(res.status).to.equal(409);
      expect(res.body.error.code).to.equal('operation_in_progress');
    } finally {
      env.fleet.proxmox.faults.latencyMs = 0;
    }
  });

  it('rejects an unknown action with 400 and another user’s server with 404', async () => {
    const user = await env.tk.user();
    const id = (await settle(user, (await create(user, 'mine')).body.operation.id)).instanceId;
    expect((await user.http.post(`/api/servers/${id}/power`, { action: 'explode' })).status).to.equal(400);
    const stranger = await env.tk.user();
    expect((await stranger.http.post(`/api/servers/${id}/power`, { action: 'stop' })).status).to.equal(404);
  });

  it('answers 502 agent_error with the agent’s status, not its body, when the agent fails', async () => {
    const user = await env.tk.user();
    const id = (await settle(user, (await create(user, 'flaky-agent')).body.operation.id)).instanceId;
    env.fleet.agents.faults.failNext(1, 503, { error: 'busy' });
    const res = await user.http.post(`/api/servers/${id}/power`, { action: 'stop' });
    expect(res.status).to.equal(502);
    expect(res.body.error.code).to.equal('agent_error');
    expect(res.body.error.details).to.deep.equal({ agent: { status: 503 } });
  });
});
