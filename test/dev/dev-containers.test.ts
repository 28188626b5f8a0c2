import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InstanceType } from '../../kernel/api';
import { create, settle } from '../provisioning/fixture';
import type { TestUser } from '../harness';
import { subuser } from '../management/fixture';
import { TEST_CATALOG, billing, createDev, devBody, httpTo, openIde, startDevEnv, type DevContainer, type DevEnv } from './fixture';

describe('Dev containers: the codeserver type, its catalog, code-server lifecycle and runtime changes', () => {
  let env: DevEnv;
  let owner: TestUser;
  let dev: DevContainer;

  before(async function () {
    this.timeout(60_000);
    env = await startDevEnv();
    owner = await env.tk.user({ email: 'dev-owner@zpack.test' });
    dev = await createDev(owner, 'dev-main');
  });
  after(async () => {
    await env?.tk.stop();
    await env?.fleet.stop();
  });

  describe('POST /api/instances {kind:"dev", type:"codeserver"}', () => {
    it('hands the agent its runtime artifact and hash, the dev user, the workspace and code-server', () => {
      const payload = env.fleet.agents.containers().get(dev.vmid)!.provisionedPayload!;
      expect(payload).to.deep.include({
        type: 'codeserver',
        runtime: { name: 'node', version: '22', artifact: TEST_CATALOG[0].artifact, sha256: TEST_CATALOG[0].sha256 },
        devUser: 'dev', workspace: '/home/dev/workspace', codeServer: { enabled: true, port: 6000 },
      });
    });

    it('refuses a runtime or version outside the catalog with 400 listing the allowed ones', async () => {
      const runtime = await create(owner, 'dev-bad-runtime', devBody('x', { runtime: 'ruby', version: '3' }));
      expect(runtime.status).to.equal(400);
      expect(JSON.stringify(runtime.body.error)).to.include('node, python');
      const version = await create(owner, 'dev-bad-version', devBody('x', { runtime: 'node', version: '16' }));
      expect(version.status).to.equal(400);
      expect(JSON.stringify(version.body.error)).to.include('22, 20, 18');
    });

    it('opts out of SRV records and proxy registration through its capabilities', () => {
      const type = env.tk.kernel.resolveAll(InstanceType).find((t) => t.type === 'codeserver')!;
      expect(type.kind).to.equal('dev');
      expect(type.capabilities).to.deep.equal({ connect: { protocol: 'http' }, proxied: false });
    });

    it('limits memoryMb by the account’s plan (403 naming it), and by the kernel default without one (400)', async () => {
      const planned = await env.tk.user({ email: 'dev-planned@zpack.test' });
      billing.plans.set(planned.id, { plan: 'vanilla', maxInstances: 3, memoryMbMax: 2048, flavors: [], mods: false });
      const over = await create(planned, 'dev-mem-over', devBody('big', { runtime: 'node', memoryMb: 4096 }));
      expect(over.status).to.equal(403);
      expect(over.body.error).to.include({ code: 'forbidden' });
      expect(over.body.error.message).to.include('vanilla');
      const within = await create(planned, 'dev-mem-ok', devBody('small', { runtime: 'node', memoryMb: 2048 }));
      expect(within.status).to.equal(202);
      expect((await settle(planned, within.body.operation.id)).state).to.equal('succeeded');
      const unplanned = await create(owner, 'dev-mem-default', devBody('huge', { runtime: 'node', memoryMb: 65536 }));
      expect(unplanned.status).to.equal(400);
    });
  });

  describe('GET /api/dev/runtimes', () => {
    it('lists each runtime with its versions and their artifact hashes', async () => {
      const res = await owner.http.get('/api/dev/runtimes');
      expect(res.status).to.equal(200);
      expect(res.body.nextCursor).to.equal(null);
      expect(res.body.runtimes).to.deep.equal([
        { runtime: 'node', defaultVersion: '22', versions: TEST_CATALOG.filter((e) => e.runtime === 'node').map(({ version, sha256 }) => ({ version, sha256 })) },
        { runtime: 'python', defaultVersion: '3.12', versions: TEST_CATALOG.filter((e) => e.runtime === 'python').map(({ version, sha256 }) => ({ version, sha256 })) },
      ]);
      const paged = await owner.http.get('/api/dev/runtimes?limit=1');
      expect(paged.body.runtimes.map((r: { runtime: string }) => r.runtime)).to.deep.equal(['node']);
      expect((await owner.http.get(`/api/dev/runtimes?limit=1&cursor=${paged.body.nextCursor}`)).body.runtimes[0].runtime).to.equal('python');
    });
  });

  describe('POST /api/dev/:id/codeserver/{start|stop|restart} and /status', () => {
    it('shows code-server state, memory use and provisioningComplete in /status', async () => {
      const status = await owner.http.get(`/api/servers/${dev.id}/status`);
      expect(status.status).to.equal(200);
      expect(status.body.codeserver).to.deep.include({ provisioningComplete: true });
      expect(status.body.codeserver.codeServer.state).to.equal('running');
      expect(status.body.codeserver.codeServer.memoryBytes).to.be.greaterThan(0);
      expect(status.body.codeserver.runtime).to.deep.include({ name: 'node', active: '22' });
    });

    it('stops code-server through the agent: the IDE then answers a clean 502, and starts it again', async () => {
      const { cookie } = await openIde(env, owner, dev);
      const stop = await owner.http.post(`/api/dev/${dev.id}/codeserver/stop`);
      expect(stop.status).to.equal(200);
      expect(stop.body.codeServer).to.deep.equal({ state: 'stopped', memoryBytes: null });
      expect((await owner.http.get(`/api/servers/${dev.id}/status`)).body.codeserver.codeServer.state).to.equal('stopped');
      const down = await httpTo(env, 'GET', '/', { host: dev.host, cookie });
      expect(down.status).to.equal(502);
      expect(JSON.parse(down.text).error.code).to.equal('agent_error');
      expect((await owner.http.post(`/api/dev/${dev.id}/codeserver/start`)).body.codeServer.state).to.equal('running');
      expect((await httpTo(env, 'GET', '/', { host: dev.host, cookie })).status).to.equal(200);
      expect((await owner.http.post(`/api/dev/${dev.id}/codeserver/restart`)).body.codeServer.state).to.equal('running');
    });

    it('answers 404 to a stranger and 400 to an unknown action', async () => {
      const stranger = await env.tk.user({ email: 'dev-stranger@zpack.test' });
      expect((await stranger.http.post(`/api/dev/${dev.id}/codeserver/stop`)).status).to.equal(404);
      expect((await owner.http.post(`/api/dev/${dev.id}/codeserver/explode`)).status).to.equal(400);
    });
  });

  describe('who may act on a dev container', () => {
    /** Each dev route with the permission it needs of a subuser. */
    const routes = (id: string) => [
      { path: `/api/dev/${id}/ide-token`, body: undefined, permission: 'console' },
      { path: `/api/dev/${id}/codeserver/stop`, body: undefined, permission: 'power' },
      { path: `/api/dev/${id}/runtime`, body: { version: '20' }, permission: 'settings' },
      { path: `/api/dev/${id}/runtime/rollback`, body: undefined, permission: 'settings' },
    ] as const;

    it('a subuser without the route\'s permission is 403 on every dev route, a stranger 404, and an API key (even the owner\'s) 403; nothing reaches the agent', async () => {
      const viewer = await subuser(env.tk, owner, dev.id, ['files.read', 'activity']);
      const stranger = await env.tk.user({ email: 'dev-routes-stranger@zpack.test' });
      const key = (await owner.http.post('/api/me/api-keys', { name: 'all', scopes: ['servers.read', 'servers.write', 'console', 'files.read', 'files.write', 'backups'] })).body.secret as string;
      const runtime = env.fleet.agents.devOf(dev.vmid).runtime;
      for (const route of routes(dev.id)) {
        const asViewer = await viewer.http.post(route.path, route.body);
        expect(asViewer.status, `${route.path}: ${asViewer.text}`).to.equal(403);
        expect(asViewer.body.error.details).to.deep.equal({ permission: route.permission });
        expect((await stranger.http.post(route.path, route.body)).status, route.path).to.equal(404);
        expect((await env.tk.http.as(key).post(route.path, route.body)).status, route.path).to.equal(403);
      }
      expect(env.fleet.agents.devOf(dev.vmid).runtime).to.deep.equal(runtime);
      const ops = await env.tk.kernel.ds.query(`SELECT count(*)::int AS n FROM provisioning_operation WHERE instance_id = $1 AND kind LIKE 'codeserver.%'`, [dev.id]);
      expect(ops[0].n).to.equal(0);
    });
  });

  describe('POST /api/dev/:id/runtime and /runtime/rollback', () => {
    const workspaceFile = () => path.join(env.fleet.agents.rootOf(dev.vmid), 'notes.md');
    const agentRuntime = () => env.fleet.agents.devOf(dev.vmid).runtime;

    before(() => writeFileSync(workspaceFile(), 'my work'));

    it('refuses a version outside the catalog with 400 listing the allowed ones, starting nothing', async () => {
      const res = await owner.http.post(`/api/dev/${dev.id}/runtime`, { version: '99' });
      expect(res.status).to.equal(400);
      expect(res.body.error.message).to.include('22, 20, 18');
    });

    it('leaves the old runtime active and fails the operation with the reason when the artifact hash does not match', async () => {
      const res = await owner.http.post(`/api/dev/${dev.id}/runtime`, { version: '18' });
      expect(res.status).to.equal(202);
      const op = await settle(owner, res.body.operation.id);
      expect(op).to.deep.include({ state: 'failed', kind: 'codeserver.runtime.upgrade' });
      expect(op.error).to.include({ code: 'artifact_rejected', phase: 'install' });
      expect(op.error.message).to.include('artifact_hash_mismatch').and.include('f'.repeat(64));
      expect(agentRuntime()).to.deep.include({ active: '22', installed: ['22'] });
      expect((await owner.http.get(`/api/servers/${dev.id}/status`)).body.codeserver.runtime.active).to.equal('22');
    });

    it('installs the new version next to the old, switches to it, and rollback restores the previous; the workspace is untouched', async () => {
      const up = await owner.http.post(`/api/dev/${dev.id}/runtime`, { version: '20' }, { headers: { 'idempotency-key': 'node-20' } });
      expect(up.status).to.equal(202);
      expect((await settle(owner, up.body.operation.id)).state).to.equal('succeeded');
      expect(agentRuntime()).to.deep.include({ active: '20', previous: '22', installed: ['22', '20'] });
      expect((await owner.http.get(`/api/servers/${dev.id}/status`)).body.codeserver.runtime).to.deep.include({ active: '20', previous: '22' });

      const back = await owner.http.post(`/api/dev/${dev.id}/runtime/rollback`);
      expect(back.status).to.equal(202);
      expect((await settle(owner, back.body.operation.id))).to.deep.include({ state: 'succeeded', kind: 'codeserver.runtime.rollback' });
      expect(agentRuntime()).to.deep.include({ active: '22', previous: '20' });
      expect(readFileSync(workspaceFile(), 'utf8')).to.equal('my work');
    });
  });
});
