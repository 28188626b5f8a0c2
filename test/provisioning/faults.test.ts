import { expect } from 'chai';
import type { TestKernel } from '../harness';
import {
  allocations, create, gameBody, parkedInWaitReady, settle, spawnProvisionWorker, startFleet, startFleetKernel, useFleetKernel, waitFor,
  type Fleet, type WorkerProcess,
} from './fixture';

describe('Provisioning under faults', () => {
  describe('Proxmox answering 30% 5xx (seeded)', () => {
    const env = useFleetKernel();

    it('every operation ends succeeded or failed (both occur, the failures from injected faults), and nothing is orphaned', async function () {
      this.timeout(120_000);
      const user = await env.tk.user();
      env.fleet.proxmox.faults.reseed(20_240_917);
      env.fleet.proxmox.faults.errorRatio = 0.3;
      const accepted = await Promise.all(Array.from({ length: 20 }, (_, i) => create(user, `flaky-${i}`, gameBody(`flaky ${i}`))));
      const ops = await Promise.all(accepted.map((r) => settle(user, r.body.operation.id, 90_000)));
      env.fleet.proxmox.faults.errorRatio = 0;

      expect(ops.every((o) => o.state === 'succeeded' || o.state === 'failed')).to.equal(true);
      expect(ops.some((o) => o.state === 'succeeded'), 'some get through').to.equal(true);
      const failed = ops.filter((x) => x.state === 'failed');
      expect(failed, 'some are failed by the injected faults').not.to.deep.equal([]);
      for (const o of failed) {
        expect(o.error.code, JSON.stringify(o.error)).to.equal('provider_error');
        expect(JSON.stringify(o.error), 'the injected answer').to.contain('no quorum');
      }

      const live: Array<{ id: string; vmid: number | null; state: string }> = await env.tk.kernel.ds.query(
        `SELECT id, vmid, state FROM instance WHERE deleted_at IS NULL`);
      const tracked = new Map(live.filter((i) => i.vmid !== null).map((i) => [i.vmid, i]));
      for (const c of env.fleet.proxmox.containers()) {
        expect(tracked.has(c.vmid), `container ${c.vmid} belongs to a live instance`).to.equal(true);
      }
      const { vmids } = await allocations(env.tk);
      expect(vmids.every((v) => tracked.has(v)), 'every allocated VMID belongs to a live instance').to.equal(true);
      const succeeded = new Set(ops.filter((o) => o.state === 'succeeded').map((o) => o.instanceId));
      for (const i of live) {
        if (!succeeded.has(i.id)) expect(i.state, `instance ${i.id} of a failed create is kept only if cleanup is pending`).to.equal('error');
      }
      const orphans = await env.tk.kernel.ds.query(
        `SELECT p.port FROM port_allocation p JOIN instance i ON i.id = p.instance_id WHERE i.deleted_at IS NOT NULL`);
      expect(orphans).to.deep.equal([]);
    });
  });

  describe('a worker killed after the container was created', () => {
    let fleet: Fleet;
    let api: TestKernel;
    let worker: TestKernel | undefined;
    let child: WorkerProcess | undefined;

    before(async () => {
      // Slow create tasks: the container exists (locked) for a while before the worker can checkpoint it.
      fleet = await startFleet({ taskMs: 1500 });
      api = await startFleetKernel(fleet, { config: { role: 'api' } });
    });
    afterEach(function () {
      if (this.currentTest?.state === 'failed' && child) console.error(`provision worker output:\n${child.output()}`);
    });
    after(async () => {
      await child?.kill();
      await worker?.stop();
      await api?.stop();
      await fleet?.stop();
    });

    it('the next worker adopts the tagged container: one container, operation succeeded', async function () {
      this.timeout(60_000);
      child = spawnProvisionWorker(fleet, api);
      const user = await api.user();
      const accepted = await create(user, 'crashy');
      const opId = accepted.body.operation.id;
      await waitFor(() => fleet.proxmox.containers().some((x) => x.tags.includes(`op-${opId}`)), 'the child created the container', 20_000);
      const [row] = await api.kernel.ds.query(`SELECT checkpoint, phase FROM provisioning_operation WHERE id = $1`, [opId]);
      expect(row.checkpoint.containerCreated, 'killed before it could checkpoint the container').to.equal(undefined);
      await child.kill();

      worker = await startFleetKernel(fleet, {
        schema: api.schema, prefix: api.prefix, config: { role: 'provision-worker', database: { dropSchemaOnStop: false } },
      });
      const op = await settle(user, opId, 45_000);
      expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
      const [after] = await api.kernel.ds.query(`SELECT checkpoint, attempts FROM provisioning_operation WHERE id = $1`, [opId]);
      expect(after.checkpoint.adopted).to.equal(true);
      expect(after.attempts).to.equal(2);
      expect(fleet.proxmox.containers()).to.have.length(1);
      expect(fleet.proxmox.containers()[0].tags).to.include(`op-${opId}`);
      expect((await user.http.get(`/api/servers/${op.instanceId}`)).body.server.state).to.equal('running');
    });
  });

  describe('a worker killed while a create waits for readiness, the agent restarted with it', () => {
    let fleet: Fleet;
    let api: TestKernel;
    let worker: TestKernel | undefined;
    let child: WorkerProcess | undefined;

    before(async () => {
      fleet = await startFleet();
      api = await startFleetKernel(fleet, { config: { role: 'api' } });
    });
    afterEach(function () {
      if (this.currentTest?.state === 'failed' && child) console.error(`provision worker output:\n${child.output()}`);
    });
    after(async () => {
      await child?.kill();
      await worker?.stop();
      await api?.stop();
      await fleet?.stop();
    });

    it('finishes after the restart within one readiness window', async function () {
      this.timeout(60_000);
      child = spawnProvisionWorker(fleet, api);
      const user = await api.user();
      fleet.agents.faults.neverReady = true;
      const accepted = (await create(user, 'wait-then-die')).body.operation;
      const parked = await parkedInWaitReady(api, accepted.id);
      await child.kill();
      // The agent lost its payload in the same outage (the embedded simulators live in the process).
      await fetch(`${fleet.agents.url}/__sim/ct/${parked.vmid}`, { method: 'DELETE' });
      fleet.agents.faults.neverReady = false;

      worker = await startFleetKernel(fleet, {
        schema: api.schema, prefix: api.prefix, config: { role: 'provision-worker', database: { dropSchemaOnStop: false } },
      });
      const op = await settle(user, accepted.id, 30_000);
      expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
      const [row] = await api.kernel.ds.query(`SELECT checkpoint, updated_at FROM provisioning_operation WHERE id = $1`, [accepted.id]);
      expect(row.checkpoint.readySince, 'the window kept its start').to.equal(parked.checkpoint.readySince);
      expect(row.updated_at.getTime() - Date.parse(row.checkpoint.readySince)).to.be.below(api.config.provisioning.readyTimeoutSeconds * 1000);
      expect(fleet.agents.containers().get(parked.vmid)?.provisionedPayload).to.include({ instanceId: op.instanceId });
    });
  });
});
