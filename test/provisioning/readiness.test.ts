import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { KernelQueue, Tokens } from '../../kernel/api';
import { PROVISION_JOB } from '../../kernel/core/operations/instances';
import { ReadinessWakeups, readinessWakeId } from '../../kernel/core/operations/wakeups';
import { allocations, create, gameBody, parkedInWaitReady, settle, useFleetKernel, waitFor } from './fixture';

describe('A create waiting for readiness', () => {
  describe('on a single provisioning worker', () => {
    const env = useFleetKernel({ provisioning: { concurrency: 1 } });
    afterEach(() => env.fleet.agents.faults.reset());

    it('holds no worker while it waits: a second create finishes meanwhile', async function () {
      this.timeout(30_000);
      const user = await env.tk.user();
      env.fleet.agents.faults.neverReady = true;
      const waiting = (await create(user, 'slow-boot', gameBody('slow'))).body.operation;
      const parked = await parkedInWaitReady(env.tk, waiting.id);
      env.fleet.agents.faults.neverReady = new Set([parked.vmid]);

      const quick = await settle(user, (await create(user, 'quick-boot', gameBody('quick'))).body.operation.id);
      expect(quick.state, JSON.stringify(quick.error)).to.equal('succeeded');
      const meanwhile = (await user.http.get(`/api/operations/${waiting.id}`)).body;
      expect(meanwhile).to.include({ state: 'running', phase: 'wait_ready' });

      env.fleet.agents.faults.neverReady = false;
      expect((await settle(user, waiting.id)).state).to.equal('succeeded');
    });

    it('keeps its readiness window across checks, measured from when wait_ready began', async () => {
      const user = await env.tk.user();
      env.fleet.agents.faults.neverReady = true;
      const op = (await create(user, 'window', gameBody('window'))).body.operation;
      const first = await parkedInWaitReady(env.tk, op.id);
      await waitFor(async () => (await parkedInWaitReady(env.tk, op.id)).checkpoint.readyChecks > first.checkpoint.readyChecks + 2, 'more checks ran');
      const later = await parkedInWaitReady(env.tk, op.id);
      expect(later.checkpoint.readySince).to.equal(first.checkpoint.readySince);
      env.fleet.agents.faults.neverReady = false;
      expect((await settle(user, op.id)).state).to.equal('succeeded');
    });

    it('an operation past its deadline ends failed with deadline_exceeded, its container destroyed and allocations released', async () => {
      const user = await env.tk.user();
      env.fleet.agents.faults.neverReady = true;
      const accepted = (await create(user, 'late', gameBody('late'))).body.operation;
      const parked = await parkedInWaitReady(env.tk, accepted.id);
      await env.tk.kernel.ds.query(`UPDATE provisioning_operation SET deadline_at = now() - interval '1 second' WHERE id = $1`, [accepted.id]);

      const op = await settle(user, accepted.id);
      expect(op.state).to.equal('failed');
      expect(op.error).to.include({ code: 'deadline_exceeded', phase: 'wait_ready' });
      expect(env.fleet.proxmox.containers().some((c) => c.tags.includes(`op-${op.id}`)), 'container destroyed').to.equal(false);
      const held = await allocations(env.tk);
      expect(held.vmids).not.to.include(parked.vmid);
      expect(held.ports).not.to.include.members(parked.ports.map((p: any) => p.port));
      expect((await user.http.get(`/api/servers/${op.instanceId}`)).status).to.equal(404);
    });
  });

  describe('whose agent restarted and lost its payload', () => {
    const env = useFleetKernel();
    afterEach(() => env.fleet.agents.faults.reset());

    it('provisions the agent again, then finishes within the same readiness window', async () => {
      const user = await env.tk.user();
      env.fleet.agents.faults.neverReady = true;
      const accepted = (await create(user, 'amnesia', gameBody('amnesia'))).body.operation;
      const parked = await parkedInWaitReady(env.tk, accepted.id);
      // What an agent restart looks like from outside: no token, no payload, `unprovisioned`.
      await fetch(`${env.fleet.agents.url}/__sim/ct/${parked.vmid}`, { method: 'DELETE' });
      env.fleet.agents.faults.neverReady = false;

      const op = await settle(user, accepted.id);
      expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
      const agent = env.fleet.agents.containers().get(parked.vmid)!;
      expect(agent.provisionedPayload).to.include({ instanceId: op.instanceId });
      expect(agent.token).to.equal(env.tk.kernel.resolve(Tokens.AgentTokens).tokenFor(op.instanceId));
    });
  });

  describe('with checks far apart', () => {
    const env = useFleetKernel({ provisioning: { readyPollMs: 600_000, sweepIntervalSeconds: 0.5, sweepAfterSeconds: 1 } });
    afterEach(() => env.fleet.agents.faults.reset());

    it('a parked create whose scheduled check was lost from the queue is scheduled again by the sweeper', async () => {
      const user = await env.tk.user();
      env.fleet.agents.faults.neverReady = true;
      const accepted = (await create(user, 'lost-check', gameBody('lost'))).body.operation;
      const parked = await parkedInWaitReady(env.tk, accepted.id);
      const provisioning = env.tk.kernel.queues.queue(KernelQueue.provisioning);
      const wakeId = readinessWakeId(accepted.id, parked.checkpoint.readyChecks);
      expect(await provisioning.remove(wakeId), 'the scheduled check was removed').to.equal(1);
      env.fleet.agents.faults.neverReady = false;

      const op = await settle(user, accepted.id, 10_000);
      expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
    });

    it("the agent's ready event runs the next check at once", async () => {
      const user = await env.tk.user();
      env.fleet.agents.faults.neverReady = true;
      const accepted = (await create(user, 'wake', gameBody('wake'))).body.operation;
      await parkedInWaitReady(env.tk, accepted.id);
      env.fleet.agents.faults.neverReady = false;
      // A real agent says ready once it is: wait for the simulated server to finish booting first.
      const [{ vmid }] = await env.tk.kernel.ds.query(`SELECT vmid FROM instance WHERE id = $1`, [accepted.instanceId]);
      await waitFor(() => env.fleet.agents.containers().get(vmid)?.state === 'running', 'the simulated server is ready');

      const token = env.tk.kernel.resolve(Tokens.AgentTokens).tokenFor(accepted.instanceId);
      const event = await env.tk.http.post('/api/agent/events', { type: 'ready', instanceId: accepted.instanceId }, { headers: { authorization: `Bearer ${token}` } });
      expect(event.status).to.equal(202);
      const op = await settle(user, accepted.id, 10_000);
      expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
    });

    it('a ready event that comes before the next check is scheduled runs that check at once', async () => {
      const { kernel } = env.tk;
      const wakeups = new ReadinessWakeups(kernel.queues, kernel.redis, env.tk.prefix, PROVISION_JOB, 60);
      const operationId = randomUUID();
      await wakeups.wake(operationId, 0);
      await wakeups.schedule(operationId, 1, 600_000);
      const job = await kernel.queues.queue(KernelQueue.provisioning).getJob(readinessWakeId(operationId, 1));
      expect(await job!.getState()).not.to.equal('delayed');
    });
  });
});

describe('A create that fails after its container exists', () => {
  const env = useFleetKernel({ provisioning: { readyTimeoutSeconds: 1, retryBackoffMs: 5 } });
  afterEach(() => {
    env.fleet.agents.faults.reset();
    env.fleet.proxmox.faults.clear();
  });

  it('a ready timeout destroys the container, releases VMID and ports and retires the instance', async () => {
    const user = await env.tk.user();
    env.fleet.agents.faults.neverReady = true;
    const accepted = (await create(user, 'never-ready', gameBody('never'))).body.operation;
    const parked = await parkedInWaitReady(env.tk, accepted.id);
    expect(env.fleet.proxmox.containers().some((c) => c.vmid === parked.vmid), 'the container exists').to.equal(true);

    const op = await settle(user, accepted.id);
    expect(op.state).to.equal('failed');
    expect(op.error).to.include({ code: 'ready_timeout', phase: 'wait_ready' });
    expect(env.fleet.proxmox.containers().some((c) => c.vmid === parked.vmid), 'container destroyed').to.equal(false);
    const rows = await env.tk.kernel.ds.query(
      `SELECT (SELECT count(*)::int FROM vmid_allocation WHERE instance_id = $1) AS vmids, (SELECT count(*)::int FROM port_allocation WHERE instance_id = $1) AS ports`,
      [op.instanceId]);
    expect(rows[0]).to.deep.equal({ vmids: 0, ports: 0 });
    const [instance] = await env.tk.kernel.ds.query(`SELECT state, deleted_at FROM instance WHERE id = $1`, [op.instanceId]);
    expect(instance.state).to.equal('deleted');
    expect(instance.deleted_at).to.be.instanceOf(Date);
  });

  it('when the cleanup fails too, the instance goes to error and keeps its allocations', async () => {
    const user = await env.tk.user();
    env.fleet.agents.faults.neverReady = true;
    const accepted = (await create(user, 'never-ready-2', gameBody('never 2'))).body.operation;
    const parked = await parkedInWaitReady(env.tk, accepted.id);
    env.fleet.proxmox.faults.errorRatio = 1;

    const op = await settle(user, accepted.id);
    expect(op.state).to.equal('failed');
    expect(op.error.code).to.equal('ready_timeout');
    expect(op.error.details).to.include({ cleanup: 'pending' });
    expect(env.fleet.proxmox.containers().some((c) => c.vmid === parked.vmid), 'the container may still exist').to.equal(true);
    const held = await allocations(env.tk);
    expect(held.vmids).to.include(parked.vmid);
    expect(held.ports).to.include.members(parked.ports.map((p: any) => p.port));
    expect((await user.http.get(`/api/servers/${op.instanceId}`)).body.server.state).to.equal('error');
  });
});
