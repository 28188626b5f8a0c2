import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { distRoot, projectRoot, type TestKernel } from '../harness';
import { allocations, create, fleetConfig, gameBody, settle, startFleet, startFleetKernel, useFleetKernel, type Fleet } from './fixture';

describe('Provisioning under faults', () => {
  describe('Proxmox answering 30% 5xx', () => {
    const env = useFleetKernel();

    it('every operation ends succeeded or failed, and nothing is orphaned', async function () {
      this.timeout(120_000);
      const user = await env.tk.user();
      env.fleet.proxmox.faults.errorRatio = 0.3;
      const accepted = await Promise.all(Array.from({ length: 20 }, (_, i) => create(user, `flaky-${i}`, gameBody(`flaky ${i}`))));
      const ops = await Promise.all(accepted.map((r) => settle(user, r.body.operation.id, 90_000)));
      env.fleet.proxmox.faults.errorRatio = 0;

      expect(ops.every((o) => o.state === 'succeeded' || o.state === 'failed')).to.equal(true);
      expect(ops.some((o) => o.state === 'succeeded'), 'some get through').to.equal(true);
      for (const o of ops.filter((x) => x.state === 'failed')) expect(o.error.code).to.be.a('string').and.not.equal('internal');

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
    let child: ChildProcess | undefined;

    before(async () => {
      // Slow create tasks: the container exists (locked) for a while before the worker can checkpoint it.
      fleet = await startFleet({ taskMs: 1500 });
      api = await startFleetKernel(fleet, { config: { role: 'api' } });
    });
    after(async () => {
      child?.kill('SIGKILL');
      await worker?.stop();
      await api?.stop();
      await fleet?.stop();
    });

    it('the next worker adopts the tagged container: one container, operation succeeded', async function () {
      this.timeout(60_000);
      const dir = mkdtempSync(path.join(tmpdir(), 'zpack-worker-'));
      const file = path.join(dir, 'worker.yaml');
      const c = api.config;
      writeFileSync(file, stringify({
        ...fleetConfig(fleet),
        database: { url: c.database.url, schema: c.database.schema },
        redis: { url: c.redis.url, prefix: c.redis.prefix },
        auth: { jwtSecret: c.auth.jwtSecret },
        logging: { level: 'warn' },
        plugins: { ...(fleetConfig(fleet).plugins as object), email: { enabled: false } },
      }));
      const env: NodeJS.ProcessEnv = { ...process.env, ZPACK_CONFIG: file };
      for (const k of ['PORT', 'DATABASE_URL', 'REDIS_URL', 'ZPACK_ROLE']) delete env[k];
      child = spawn(process.execPath, [path.join(distRoot, 'kernel', 'main.js'), 'provision-worker'], { env, cwd: projectRoot, stdio: 'ignore' });

      const user = await api.user();
      const accepted = await create(user, 'crashy');
      const opId = accepted.body.operation.id;
      await until(() => fleet.proxmox.containers().some((x) => x.tags.includes(`op-${opId}`)), 20_000, 'the child created the container');
      const [row] = await api.kernel.ds.query(`SELECT checkpoint, phase FROM provisioning_operation WHERE id = $1`, [opId]);
      expect(row.checkpoint.containerCreated, 'killed before it could checkpoint the container').to.equal(undefined);
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));

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
});

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
