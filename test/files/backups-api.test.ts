import { expect } from 'chai';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { z } from 'zod';
import { BillingGate, definePlugin, type EnforcementState } from '../../kernel/api';
import { startTestKernel, type TestKernel, type TestUser } from '../harness';
import { fleetConfig, fleetPlugins, startFleet, type Fleet } from '../provisioning/fixture';
import { PREFIXES, call, exists, gameServer, markRequests, until, type GameServer } from './api-fixture';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** What the test billing plugin answers per account; anything not set is active. */
const billing = {
  states: new Map<string, EnforcementState>(),
  /** Accounts the kernel asked about, to prove admins and exempt accounts are not even asked. */
  asked: [] as string[],
  reset() {
    this.states.clear();
    this.asked.length = 0;
  },
};

/** A billing plugin reduced to its gate: the state of each account is whatever the test sets. */
const testBilling = definePlugin({
  name: 'test-billing', version: '1.0.0', kernelApi: '2', config: z.object({}),
  register(ctx) {
    ctx.provide(BillingGate, () => new (class extends BillingGate {
      async stateOf(accountId: string): Promise<EnforcementState> {
        billing.asked.push(accountId);
        return billing.states.get(accountId) ?? 'active';
      }
    })());
  },
});

describe('Backups API (end to end: kernel → agent simulator) and the billing gate', () => {
  let fleet: Fleet;
  let tk: TestKernel;
  let owner: TestUser;
  let stranger: TestUser;
  let server: GameServer;

  before(async function () {
    this.timeout(60_000);
    fleet = await startFleet();
    tk = await startTestKernel({
      plugins: [...fleetPlugins, testBilling],
      config: fleetConfig(fleet, { plugins: { 'test-billing': { enabled: true } } }),
    });
    owner = await tk.user();
    stranger = await tk.user();
    server = await gameServer(owner, 'backups-main');
  });
  after(async () => {
    await tk?.stop();
    await fleet?.stop();
  });
  afterEach(() => billing.reset());

  const backups = (s: GameServer = server) => `/api/servers/${s.id}/backups`;

  /** Polls the list until the backup leaves `creating`. */
  async function settledBackup(user: TestUser, s: GameServer, id: string): Promise<any> {
    const list = await until(`backup ${id}`, async () => (await user.http.get(backups(s))).body, (body: any) =>
      body.backups?.find((b: any) => b.id === id)?.state !== 'creating');
    return list.backups.find((b: any) => b.id === id);
  }

  async function readyBackup(user: TestUser, s: GameServer, name: string): Promise<any> {
    const res = await user.http.post(backups(s), { name });
    expect(res.status, res.text).to.equal(202);
    const backup = await settledBackup(user, s, res.body.backup.id);
    expect(backup.state).to.equal('ready');
    return backup;
  }

  describe('lifecycle in the canonical shapes of API.md', () => {
    let backup: any;
    const props = () => join(fleet.agents.rootOf(server.vmid), 'server.properties');
    let original: string;

    it('lists no backups at first', async () => {
      const res = await owner.http.get(backups());
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ backups: [], nextCursor: null });
    });

    it('POST starts a backup: 202 {backup} in state creating', async () => {
      original = await readFile(props(), 'utf8');
      const res = await owner.http.post(backups(), { name: 'before-the-change' });
      expect(res.status, res.text).to.equal(202);
      expect(Object.keys(res.body)).to.deep.equal(['backup']);
      backup = res.body.backup;
      expect(Object.keys(backup).sort()).to.deep.equal(['createdAt', 'id', 'name', 'sizeBytes', 'state']);
      expect(backup).to.include({ name: 'before-the-change', state: 'creating' });
      expect(backup.id).to.be.a('string').and.not.equal('');
      expect(backup.createdAt).to.match(ISO);
    });

    it('the list shows it until it is ready, with its size', async () => {
      const ready = await settledBackup(owner, server, backup.id);
      expect(ready.state).to.equal('ready');
      expect(ready.sizeBytes).to.be.above(0);
      const res = await owner.http.get(backups());
      expect(res.body.backups).to.have.length(1);
      expect(Object.keys(res.body.backups[0]).sort()).to.deep.equal(['createdAt', 'id', 'locked', 'name', 'sizeBytes', 'state']);
      expect(res.body.backups[0]).to.deep.equal({ ...ready, name: 'before-the-change', createdAt: backup.createdAt, locked: false });
    });

    it('POST without a body names the backup after the time', async () => {
      const res = await call(tk, owner.accessToken, 'POST', backups());
      expect(res.status, res.bytes.toString()).to.equal(202);
      expect(res.json.backup.name).to.match(/^backup-\d{4}-\d{2}-\d{2}T/);
      expect((await settledBackup(owner, server, res.json.backup.id)).state).to.equal('ready');
      expect((await owner.http.delete(`${backups()}/${res.json.backup.id}`)).status).to.equal(204);
    });

    it('POST …/restore brings back the files as they were: 202 {restore:{id, state}}, then GET …/backups/restore until succeeded', async () => {
      // Change a file through the API and add another one; the restore undoes both.
      const write = await owner.http.request('PUT', `${PREFIXES.canonical(server.id)}/files/content?path=server.properties`, { raw: 'motd=changed\n', headers: { 'content-type': 'text/plain' } });
      expect(write.status, write.text).to.equal(200);
      await writeFile(join(fleet.agents.rootOf(server.vmid), 'added-later.txt'), 'not in the backup\n');
      expect(await readFile(props(), 'utf8')).to.equal('motd=changed\n');

      const res = await owner.http.post(`${backups()}/${backup.id}/restore`);
      expect(res.status, res.text).to.equal(202);
      expect(res.body.restore).to.include({ state: 'running' });
      expect(res.body.restore.id).to.be.a('string').and.not.equal('');

      const done = await until('restore', async () => (await owner.http.get(`${backups()}/restore`)).body, (body: any) => body.restore?.state !== 'running');
      expect(done.restore).to.include({ id: res.body.restore.id, backupId: backup.id, state: 'succeeded', error: null });
      expect(done.restore.finishedAt).to.match(ISO);

      expect(await readFile(props(), 'utf8')).to.equal(original);
      expect(await exists(join(fleet.agents.rootOf(server.vmid), 'added-later.txt'))).to.equal(false);
      const read = await owner.http.get(`${PREFIXES.canonical(server.id)}/files/content?path=server.properties`);
      expect(read.body.content).to.equal(original);
    });

    it('DELETE removes it: 204, and the list is empty again', async () => {
      const res = await owner.http.delete(`${backups()}/${backup.id}`);
      expect(res.status).to.equal(204);
      expect(res.text).to.equal('');
      expect((await owner.http.get(backups())).body).to.deep.equal({ backups: [], nextCursor: null });
    });
  });

  describe('agent failures: our own code and message, the agent\'s status under error.details.agent, never its body', () => {
    it('listing', async () => {
      fleet.agents.faults.failNext(1, 500, { error: 'tar_index_corrupt' });
      const res = await owner.http.get(backups());
      expect(res.status).to.equal(502);
      expect(res.body.error.code).to.equal('agent_error');
      expect(res.body.error.details).to.deep.equal({ agent: { status: 500 } });
      expect(res.text).not.to.contain('tar_index_corrupt');
    });

    it('creating, and nothing is created', async () => {
      fleet.agents.faults.failNext(1, 507, { error: 'no_space_left' });
      const res = await owner.http.post(backups(), { name: 'doomed' });
      expect(res.status).to.equal(502);
      expect(res.body.error.code).to.equal('agent_error');
      expect(res.body.error.details).to.deep.equal({ agent: { status: 507 } });
      expect((await owner.http.get(backups())).body.backups.map((b: any) => b.name)).not.to.include('doomed');
    });

    it('restoring an unknown backup is 404 not_found, naming the agent\'s status and code', async () => {
      const res = await owner.http.post(`${backups()}/bk-does-not-exist/restore`);
      expect(res.status).to.equal(404);
      expect(res.body.error.code).to.equal('not_found');
      expect(res.body.error.details).to.deep.equal({ agent: { status: 404, code: 'not_found' } });
    });

    it('restore status and delete, with a text body not relayed', async () => {
      fleet.agents.faults.failNext(1, 503, 'agent restarting');
      const status = await owner.http.get(`${backups()}/restore`);
      expect(status.status).to.equal(502);
      expect(status.body.error.details).to.deep.equal({ agent: { status: 503 } });
      expect(status.text).not.to.contain('restarting');
      const ready = await readyBackup(owner, server, 'kept');
      fleet.agents.faults.failNext(1, 500, { error: 'busy' });
      const del = await owner.http.delete(`${backups()}/${ready.id}`);
      expect(del.status).to.equal(502);
      expect(del.body.error.details).to.deep.equal({ agent: { status: 500 } });
      expect((await owner.http.get(backups())).body.backups.map((b: any) => b.id)).to.include(ready.id);
      expect((await owner.http.delete(`${backups()}/${ready.id}`)).status).to.equal(204);
    });
  });

  describe('ownership', () => {
    it('another account\'s server is 404 on every backup route, and the agent is never asked', async () => {
      const ready = await readyBackup(owner, server, 'private');
      const mark = markRequests(fleet);
      const attempts = [
        await stranger.http.get(backups()),
        await stranger.http.post(backups(), { name: 'intruder' }),
        await stranger.http.post(`${backups()}/${ready.id}/restore`),
        await stranger.http.get(`${backups()}/restore`),
        await stranger.http.delete(`${backups()}/${ready.id}`),
      ];
      expect(attempts.map((r) => r.status)).to.deep.equal([404, 404, 404, 404, 404]);
      expect(attempts.map((r) => r.body.error.code)).to.deep.equal(Array(5).fill('not_found'));
      expect(mark.since()).to.deep.equal([]);
      expect((await owner.http.get(backups())).body.backups.map((b: any) => b.id)).to.include(ready.id);
      expect((await owner.http.delete(`${backups()}/${ready.id}`)).status).to.equal(204);
    });
  });

  describe('backup ids', () => {
    /** Sent with node:http and a bare path, which (unlike a URL) keeps "." and ".." segments as they are. */
    const rawCall = (method: string, path: string) => new Promise<{ status: number; body: any }>((resolve, reject) => {
      const options = { host: '127.0.0.1', port: tk.kernel.port, path, method, headers: { authorization: `Bearer ${owner.accessToken}` } };
      const req = request(options, (res) => {
        let text = '';
        res.on('data', (chunk) => { text += chunk; });
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      });
      req.on('error', reject).end();
    });

    it('made only of dots are 400 on restore and delete, and the agent is never asked', async () => {
      const mark = markRequests(fleet);
      for (const id of ['.', '..', '...']) {
        for (const [method, path] of [['POST', `${backups()}/${id}/restore`], ['DELETE', `${backups()}/${id}`]]) {
          const res = await rawCall(method, path);
          expect(res.status, `${method} ${path}`).to.equal(400);
          expect(res.body.error.code).to.equal('invalid_request');
          expect(res.body.error.details.fields[0].path).to.equal('params.backupId');
        }
      }
      expect(mark.since()).to.deep.equal([]);
    });
  });

  describe('billing gate', () => {
    /** Audit rows of billing refusals for one account, oldest first. */
    const refusals = async (accountId: string): Promise<Array<{ action: string; target: string; detail: any }>> =>
      tk.kernel.ds.query(`SELECT action, target, detail FROM audit_event WHERE actor_id = $1 AND action = 'billing.refused' ORDER BY created_at, id`, [accountId]);

    describe('final_warning', () => {
      let user: TestUser;
      let s: GameServer;
      before(async function () {
        this.timeout(30_000);
        user = await tk.user();
        s = await gameServer(user, 'billing-final-warning');
      });

      it('refuses a new backup with 423 locked, reaching no agent, and audits it', async () => {
        billing.states.set(user.id, 'final_warning');
        const mark = markRequests(fleet);
        const res = await user.http.post(backups(s), { name: 'late' });
        expect(res.status, res.text).to.equal(423);
        expect(res.body.error.code).to.equal('locked');
        expect(res.body.error.details).to.deep.equal({ state: 'final_warning' });
        expect(mark.since()).to.deep.equal([]);
        expect(await refusals(user.id)).to.deep.equal([{ action: 'billing.refused', target: s.id, detail: { action: 'backup.create', state: 'final_warning' } }]);
      });

      it('still lists backups, downloads and writes files', async () => {
        billing.states.set(user.id, 'final_warning');
        expect((await user.http.get(backups(s))).status).to.equal(200);
        expect((await user.http.get(`${backups(s)}/restore`)).status).to.equal(200);
        const download = await call(tk, user.accessToken, 'GET', `${PREFIXES.canonical(s.id)}/files/download?path=eula.txt`);
        expect(download.status).to.equal(200);
        expect(download.bytes.toString()).to.equal(await readFile(join(fleet.agents.rootOf(s.vmid), 'eula.txt'), 'utf8'));
        const write = await call(tk, user.accessToken, 'PUT', `${PREFIXES.canonical(s.id)}/files/content?path=notes.txt`, { body: 'pay soon\n' });
        expect(write.status, write.bytes.toString()).to.equal(200);
        expect(await readFile(join(fleet.agents.rootOf(s.vmid), 'notes.txt'), 'utf8')).to.equal('pay soon\n');
        expect((await refusals(user.id)).map((r) => r.detail.action)).to.deep.equal(['backup.create']);
      });
    });

    describe('suspended', () => {
      let user: TestUser;
      let s: GameServer;
      let ready: any;
      let root: string;
      before(async function () {
        this.timeout(30_000);
        user = await tk.user();
        s = await gameServer(user, 'billing-suspended');
        ready = await readyBackup(user, s, 'paid-for');
        root = fleet.agents.rootOf(s.vmid);
      });

      /** Every mutation of files and backups, on both route sets, with the audit action it must leave. */
      interface Mutation { method: string; path: string; body?: string; json?: unknown; action: string }
      const MUTATIONS = (id: string, backupId: string): Mutation[] => [
        ...Object.values(PREFIXES).flatMap((prefix) => [
          { method: 'PUT', path: `${prefix(id)}/files/content?path=server.properties`, body: 'motd=free\n', action: 'files.put/files/content' },
          { method: 'POST', path: `${prefix(id)}/files/upload?path=plugins/free.jar`, body: 'jar', action: 'files.post/files/upload' },
          { method: 'POST', path: `${prefix(id)}/files/revert?path=server.properties`, action: 'files.post/files/revert' },
          { method: 'DELETE', path: `${prefix(id)}/files?path=eula.txt`, action: 'files.delete/files' },
        ]),
        { method: 'POST', path: `/api/servers/${id}/backups`, json: { name: 'free' }, action: 'backup.create' },
        { method: 'POST', path: `/api/servers/${id}/backups/${backupId}/restore`, action: 'backup.restore' },
        { method: 'DELETE', path: `/api/servers/${id}/backups/${backupId}`, action: 'backup.delete' },
      ];

      it('refuses every file and backup mutation with 402 billing_suspended, before the agent, leaving the disk as it was', async () => {
        billing.states.set(user.id, 'suspended');
        const before = { props: await readFile(join(root, 'server.properties'), 'utf8'), eula: await exists(join(root, 'eula.txt')) };
        const mark = markRequests(fleet);
        const wrong: string[] = [];
        for (const m of MUTATIONS(s.id, ready.id)) {
          const res = m.json
            ? await call(tk, user.accessToken, m.method, m.path, { body: JSON.stringify(m.json), headers: { 'content-type': 'application/json' } })
            : await call(tk, user.accessToken, m.method, m.path, m.body ? { body: m.body, headers: { 'content-type': 'text/plain' } } : {});
          const ok = res.status === 402 && res.json?.error?.code === 'billing_suspended' && res.json.error.details?.state === 'suspended';
          if (!ok) wrong.push(`${m.method} ${m.path} → ${res.status} ${res.bytes.toString().slice(0, 120)}`);
        }
        expect(wrong).to.deep.equal([]);
        expect(mark.since(), 'requests that reached the agent').to.deep.equal([]);
        expect(await readFile(join(root, 'server.properties'), 'utf8')).to.equal(before.props);
        expect(await exists(join(root, 'eula.txt'))).to.equal(before.eula);
        expect(await exists(join(root, 'plugins', 'free.jar'))).to.equal(false);
        expect((await user.http.get(backups(s))).body.backups.map((b: any) => b.id)).to.deep.equal([ready.id]);
      });

      it('writes each refusal to the audit log: what was refused, on which server, and why', async () => {
        const rows = await refusals(user.id);
        expect(rows).to.deep.equal(MUTATIONS(s.id, ready.id).map((m) => ({ action: 'billing.refused', target: s.id, detail: { action: m.action, state: 'suspended' } })));
      });

      it('still answers reads, lists and downloads with 200 on both route sets', async () => {
        billing.states.set(user.id, 'suspended');
        for (const prefix of Object.values(PREFIXES)) {
          const list = await call(tk, user.accessToken, 'GET', `${prefix(s.id)}/files?path=world`);
          expect(list.status).to.equal(200);
          expect(list.json.entries.map((e: any) => e.name)).to.deep.equal(['region', 'level.dat']);
          expect((await call(tk, user.accessToken, 'GET', `${prefix(s.id)}/files/stat?path=eula.txt`)).status).to.equal(200);
          const read = await call(tk, user.accessToken, 'GET', `${prefix(s.id)}/files/content?path=server.properties`);
          expect(read.status).to.equal(200);
          expect(read.json.content).to.equal(await readFile(join(root, 'server.properties'), 'utf8'));
          const download = await call(tk, user.accessToken, 'GET', `${prefix(s.id)}/files/download?path=world/level.dat`);
          expect(download.status).to.equal(200);
          expect(download.bytes.equals(await readFile(join(root, 'world', 'level.dat')))).to.equal(true);
        }
        const list = await user.http.get(backups(s));
        expect(list.status).to.equal(200);
        expect(list.body.backups.map((b: any) => b.id)).to.deep.equal([ready.id]);
        expect((await user.http.get(`${backups(s)}/restore`)).status).to.equal(200);
        expect((await refusals(user.id)).filter((r) => r.detail.state === 'suspended')).to.have.length(MUTATIONS(s.id, ready.id).length);
      });

      it('lets everything through again once the account is active', async () => {
        billing.states.set(user.id, 'active');
        const write = await call(tk, user.accessToken, 'PUT', `${PREFIXES.canonical(s.id)}/files/content?path=notes.txt`, { body: 'paid\n' });
        expect(write.status).to.equal(200);
        expect((await user.http.post(backups(s), { name: 'after-paying' })).status).to.equal(202);
      });
    });

    describe('accounts that are never refused', () => {
      let admin: TestUser;
      let exempt: TestUser;
      before(async () => {
        admin = await tk.user({ role: 'admin' });
        exempt = await tk.user();
        const patched = await admin.http.patch(`/api/admin/users/${exempt.id}`, { billingExempt: true });
        expect(patched.status, patched.text).to.equal(200);
      });

      for (const who of ['an admin', 'a billing-exempt account'] as const) {
        it(`${who}: every file and backup mutation goes through even when the gate says suspended`, async function () {
          this.timeout(30_000);
          const user = who === 'an admin' ? admin : exempt;
          const s = await gameServer(user, `never-refused-${user.id}`);
          const root = fleet.agents.rootOf(s.vmid);
          billing.states.set(user.id, 'suspended');
          billing.asked.length = 0;

          for (const prefix of Object.values(PREFIXES)) {
            const put = await call(tk, user.accessToken, 'PUT', `${prefix(s.id)}/files/content?path=server.properties`, { body: 'motd=admin\n' });
            expect(put.status, put.bytes.toString()).to.equal(200);
            expect((await call(tk, user.accessToken, 'POST', `${prefix(s.id)}/files/revert?path=server.properties`)).status).to.equal(200);
            expect((await call(tk, user.accessToken, 'POST', `${prefix(s.id)}/files/upload?path=plugins/tool.jar`, { body: 'jar' })).status).to.equal(201);
            expect((await call(tk, user.accessToken, 'DELETE', `${prefix(s.id)}/files?path=plugins/tool.jar`)).status).to.equal(204);
          }
          expect(await exists(join(root, 'plugins', 'tool.jar'))).to.equal(false);

          const created = await user.http.post(backups(s), { name: 'exempt' });
          expect(created.status, created.text).to.equal(202);
          expect((await settledBackup(user, s, created.body.backup.id)).state).to.equal('ready');
          const restore = await user.http.post(`${backups(s)}/${created.body.backup.id}/restore`);
          expect(restore.status, restore.text).to.equal(202);
          await until('restore', async () => (await user.http.get(`${backups(s)}/restore`)).body, (b: any) => b.restore?.state !== 'running');
          expect((await user.http.delete(`${backups(s)}/${created.body.backup.id}`)).status).to.equal(204);

          expect(await refusals(user.id)).to.deep.equal([]);
          expect(billing.asked, 'the gate is not even consulted').not.to.include(user.id);
        });
      }
    });
  });
});
