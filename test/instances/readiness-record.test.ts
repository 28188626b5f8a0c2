import { expect } from 'chai';
import { Tokens } from '../../kernel/api';
import type { TestUser } from '../harness';
import { create, gameBody, parkedInWaitReady, settle, useFleetKernel, waitFor } from '../provisioning/fixture';

describe('Readiness: one record, one onInstanceReady per transition', () => {
  const env = useFleetKernel();
  /** onInstanceReady firings, by instance id. */
  const fired = new Map<string, number>();
  let user: TestUser;
  let instanceId: string;

  const readyEvent = async (id: string) => {
    const token = env.tk.kernel.resolve(Tokens.AgentTokens).tokenFor(id);
    const res = await env.tk.http.post('/api/agent/events', { type: 'ready', instanceId: id }, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).to.equal(202);
  };
  const recordedReady = async (id: string) => (await env.tk.kernel.directory.listReady()).some((i) => i.id === id);

  before(async () => {
    env.tk.kernel.hooks.onInstanceReady.tapPromise('readiness-recorder', async (instance) => {
      fired.set(instance.id, (fired.get(instance.id) ?? 0) + 1);
    });
    user = await env.tk.user();
  });
  afterEach(() => env.fleet.agents.faults.reset());

  it('a ready event while the create waits wakes it, and onInstanceReady fires once, when the create finishes', async () => {
    env.fleet.agents.faults.neverReady = true;
    const accepted = (await create(user, 'ready-once', gameBody('Once'))).body.operation;
    instanceId = accepted.instanceId;
    await parkedInWaitReady(env.tk, accepted.id);
    env.fleet.agents.faults.neverReady = false;

    await readyEvent(instanceId);
    expect(fired.get(instanceId) ?? 0, 'nothing fires before the create finishes').to.equal(0);
    const op = await settle(user, accepted.id, 10_000);
    expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
    expect(fired.get(instanceId)).to.equal(1);
    expect(await recordedReady(instanceId)).to.equal(true);
  });

  it('a repeated ready event of a server already recorded ready fires nothing', async () => {
    await readyEvent(instanceId);
    await readyEvent(instanceId);
    expect(fired.get(instanceId)).to.equal(1);
  });

  it('a status read records nothing; after a restart only the agent’s ready event records readiness again, firing once', async () => {
    expect((await user.http.post(`/api/servers/${instanceId}/power`, { action: 'restart' })).status).to.equal(202);
    expect(await recordedReady(instanceId), 'a restart clears the record').to.equal(false);

    // The agent is up again and says so to a status read: shown, not recorded.
    await waitFor(async () => (await user.http.get(`/api/servers/${instanceId}/status`)).body.agentReady === true, 'the agent answers ready');
    expect(await recordedReady(instanceId)).to.equal(false);
    expect(fired.get(instanceId)).to.equal(1);

    await readyEvent(instanceId);
    expect(await recordedReady(instanceId)).to.equal(true);
    expect(fired.get(instanceId)).to.equal(2);
  });
});
