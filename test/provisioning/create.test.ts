import { expect } from 'chai';
import { Tokens } from '../../kernel/api';
import type { TestUser } from '../harness';
import { allocations, create, gameBody, settle, useFleetKernel } from './fixture';

describe('POST /api/instances', () => {
  const env = useFleetKernel();

  describe('a single create', () => {
    let user: TestUser;
    let op: any;
    before(async () => {
      user = await env.tk.user();
      const res = await create(user, 'first-server');
      expect(res.status).to.equal(202);
      expect(res.headers.get('location')).to.equal(`/api/operations/${res.body.operation.id}`);
      expect(res.body.operation).to.include({ kind: 'create', state: 'queued' });
      op = await settle(user, res.body.operation.id);
    });

    it('ends succeeded with a running server', async () => {
      expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
      const server = (await user.http.get(`/api/servers/${op.instanceId}`)).body.server;
      expect(server).to.include({ state: 'running', kind: 'game', type: 'minecraft', name: 'Survival' });
      expect(server.vmid).to.be.within(5000, 5999);
      expect(server.ports).to.have.length(1);
      expect(server).not.to.have.property('address');
    });

    it('made exactly one container, tagged with the operation id', () => {
      const tagged = env.fleet.proxmox.containers().filter((c) => c.tags.includes(`op-${op.id}`));
      expect(tagged).to.have.length(1);
      expect(tagged[0]).to.include({ status: 'running' });
      expect(tagged[0].tags).to.include('zpack');
    });

    it('handed the agent its payload and token, and the agent says ready', async () => {
      const server = (await user.http.get(`/api/servers/${op.instanceId}`)).body.server;
      const agent = env.fleet.agents.containers().get(server.vmid)!;
      expect(agent.provisionedPayload).to.include({ game: 'minecraft', version: '1.21.4', flavor: 'paper', instanceId: op.instanceId });
      expect(agent.token).to.equal(env.tk.kernel.resolve(Tokens.AgentTokens).tokenFor(op.instanceId));
      const status = await user.http.get(`/api/servers/${op.instanceId}/status`);
      expect(status.body).to.include({ state: 'running', agentReady: true, ready: true });
    });

    it('lists the server and counts it against the quota', async () => {
      expect((await user.http.get('/api/servers')).body.servers.map((s: any) => s.id)).to.deep.equal([op.instanceId]);
      expect((await user.http.get('/api/me')).body.quota.used).to.equal(1);
      expect((await user.http.get('/api/operations?state=succeeded')).body.operations.map((o: any) => o.id)).to.include(op.id);
    });
  });

  describe('idempotency', () => {
    it('400 without an Idempotency-Key', async () => {
      const user = await env.tk.user();
      const res = await user.http.post('/api/instances', gameBody());
      expect(res.status).to.equal(400);
      expect(res.body.error.details.fields[0].path).to.equal('header.Idempotency-Key');
    });

    it('200 concurrent POSTs with 20 keys make exactly 20 operations, containers and VMIDs, and no shared port', async function () {
      this.timeout(60_000);
      const user = await env.tk.user();
      const before = env.fleet.proxmox.containers().length;
      const responses = await Promise.all(Array.from({ length: 200 }, (_, i) => create(user, `burst-${i % 20}`, gameBody(`burst ${i % 20}`))));
      expect(responses.map((r) => r.status).filter((s) => s !== 202), JSON.stringify(responses.find((r) => r.status !== 202)?.body)).to.deep.equal([]);
      const opIds = new Set(responses.map((r) => r.body.operation.id));
      expect(opIds.size).to.equal(20);
      for (let k = 0; k < 20; k++) {
        expect(new Set(responses.filter((_, i) => i % 20 === k).map((r) => r.body.operation.id)).size, `key burst-${k}`).to.equal(1);
      }
      const ops = await Promise.all([...opIds].map((id) => settle(user, id, 45_000)));
      expect(ops.filter((o) => o.state !== 'succeeded').map((o) => o.error)).to.deep.equal([]);
      const servers = (await user.http.get('/api/servers')).body.servers;
      expect(servers).to.have.length(20);
      expect(new Set(servers.map((s: any) => s.vmid)).size).to.equal(20);
      const ports = servers.flatMap((s: any) => s.ports.map((p: any) => p.port));
      expect(new Set(ports).size).to.equal(ports.length);
      expect(env.fleet.proxmox.containers().length - before).to.equal(20);
      const mine = env.fleet.proxmox.containers().filter((c) => [...opIds].some((id) => c.tags.includes(`op-${id}`)));
      expect(mine).to.have.length(20);
    });

    it('the same key with a different body is 422', async () => {
      const user = await env.tk.user();
      expect((await create(user, 'k1', gameBody('one'))).status).to.equal(202);
      const res = await create(user, 'k1', gameBody('two'));
      expect(res.status).to.equal(422);
      expect(res.body.error.code).to.equal('idempotency_key_reused');
    });

    it('the same body in another key order is the same request', async () => {
      const user = await env.tk.user();
      const a = await create(user, 'k2', { kind: 'game', type: 'minecraft', name: 'x', options: { version: '1.21.4', flavor: 'paper', memoryMb: 2048 } });
      const b = await create(user, 'k2', { options: { memoryMb: 2048, flavor: 'paper', version: '1.21.4' }, name: 'x', type: 'minecraft', kind: 'game' });
      expect(b.status).to.equal(202);
      expect(b.body.operation.id).to.equal(a.body.operation.id);
    });

    it('the same key from another account is a separate operation', async () => {
      const [u1, u2] = [await env.tk.user(), await env.tk.user()];
      const a = await create(u1, 'shared-key');
      const b = await create(u2, 'shared-key');
      expect([a.status, b.status]).to.deep.equal([202, 202]);
      expect(a.body.operation.id).not.to.equal(b.body.operation.id);
    });
  });

  describe('validation', () => {
    it('answers 400 naming the bad option, for an unknown type and for bad options', async () => {
      const user = await env.tk.user();
      const badMemory = await create(user, 'v1', gameBody('x', { memoryMb: 999_999 }));
      expect(badMemory.status).to.equal(400);
      expect(badMemory.body.error.details.fields.map((f: any) => f.path)).to.include('body.options.memoryMb');
      const unknownType = await create(user, 'v2', { kind: 'game', type: 'terraria', name: 'x' });
      expect(unknownType.status).to.equal(400);
      expect(unknownType.body.error.details.fields[0]).to.include({ path: 'body.type' });
      const noDevType = await create(user, 'v3', { kind: 'dev', name: 'x', runtime: 'node', version: '22' });
      expect(noDevType.status).to.equal(400);
    });
  });

  describe('quota', () => {
    it('quota 3 with 50 concurrent creates: exactly 3 accepted, 47 × 403 quota_exceeded', async function () {
      this.timeout(30_000);
      const user = await env.tk.user();
      const admin = await env.tk.user({ role: 'admin' });
      expect((await admin.http.patch(`/api/admin/users/${user.id}`, { maxInstances: 3 })).status).to.equal(200);
      const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => create(user, `q-${i}`, gameBody(`q${i}`))));
      const statuses = responses.map((r) => r.status);
      expect(statuses.filter((s) => s === 202)).to.have.length(3);
      expect(statuses.filter((s) => s === 403)).to.have.length(47);
      expect(responses.filter((r) => r.status === 403).every((r) => r.body.error.code === 'quota_exceeded')).to.equal(true);
      await Promise.all(responses.filter((r) => r.status === 202).map((r) => settle(user, r.body.operation.id)));
      const acceptedAt = statuses.indexOf(202);
      const again = await create(user, `q-${acceptedAt}`, gameBody(`q${acceptedAt}`));
      expect(again.status, 'a replay of an accepted create is not counted again').to.equal(202);
      expect(again.body.operation.id).to.equal(responses[acceptedAt].body.operation.id);
    });
  });

  describe('ownership', () => {
    it('another account’s server is 404 for read, status and delete', async () => {
      const [owner, stranger] = [await env.tk.user(), await env.tk.user()];
      const op = await settle(owner, (await create(owner, 'mine')).body.operation.id);
      for (const res of [
        await stranger.http.get(`/api/servers/${op.instanceId}`),
        await stranger.http.get(`/api/servers/${op.instanceId}/status`),
        await stranger.http.delete(`/api/servers/${op.instanceId}`),
        await stranger.http.get(`/api/operations/${op.id}`),
      ]) {
        expect(res.status).to.equal(404);
        expect(res.body.error.code).to.equal('not_found');
      }
      expect((await owner.http.get(`/api/servers/${op.instanceId}`)).body.server.state).to.equal('running');
    });
  });

  describe('afterwards', () => {
    it('Postgres allocations and the simulator agree', async () => {
    for (let i = 0; i < 200; i++) {
      const [{ n }] = await env.tk.kernel.ds.query(`SELECT count(*)::int AS n FROM provisioning_operation WHERE state IN ('queued','running')`);
      if (n === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const { vmids } = await allocations(env.tk);
    const live = (await env.tk.kernel.ds.query(`SELECT vmid FROM instance WHERE deleted_at IS NULL AND vmid IS NOT NULL`)).map((r: any) => r.vmid).sort();
    expect(vmids).to.deep.equal(live);
    expect(live.length).to.be.greaterThan(20);
    expect(env.fleet.proxmox.containers().map((c) => c.vmid).sort()).to.deep.equal(live);
    });
  });
});
