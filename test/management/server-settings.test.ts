import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestUser } from '../harness';
import { gameServer, type GameServer } from '../files/api-fixture';
import { settle, useFleetKernel, waitFor } from '../provisioning/fixture';
import { PORTAL, connect, nextMessage } from '../console/client';
import { subuser } from './fixture';

describe('Server settings, resize, reinstall and resources', function () {
  this.timeout(90_000);
  const env = useFleetKernel({ console: { allowedOrigins: [PORTAL] } });
  let owner: TestUser;
  let server: GameServer;
  let root: string;
  const url = (suffix = '') => `/api/servers/${server.id}${suffix}`;
  const payloadOf = (vmid: number) => env.fleet.agents.containers().get(vmid)!.provisionedPayload as Record<string, unknown>;

  before(async () => {
    owner = await env.tk.user();
    server = await gameServer(owner, 'settings');
    root = env.fleet.agents.rootOf(server.vmid);
  });

  describe('structured settings (declared by the minecraft type)', () => {
    it('reads server.properties as typed settings', async () => {
      const res = await owner.http.get(url('/settings'));
      expect(res.status, res.text).to.equal(200);
      expect(res.body.settings).to.deep.equal({ motd: 'A zpack server', 'max-players': 20 });
    });

    it('writes valid settings into server.properties, keeping the other lines', async () => {
      const res = await owner.http.put(url('/settings'), { motd: 'Welcome home', 'max-players': 50, difficulty: 'hard', pvp: false, 'white-list': true });
      expect(res.status, res.text).to.equal(200);
      expect(res.body).to.deep.equal({
        settings: { motd: 'Welcome home', 'max-players': 50, difficulty: 'hard', pvp: false, 'white-list': true }, restartRequired: true,
      });
      const file = await readFile(join(root, 'server.properties'), 'utf8');
      expect(file).to.include('motd=Welcome home\nmax-players=50\nonline-mode=true\nserver-port=25565\n');
      expect(file).to.include('pvp=false\n').and.include('white-list=true\n').and.include('difficulty=hard\n');
    });

    it('refuses values out of range, unknown keys and line breaks (400), writing nothing', async () => {
      const before = await readFile(join(root, 'server.properties'), 'utf8');
      for (const bad of [{ 'max-players': 0 }, { difficulty: 'nightmare' }, { 'online-mode': false }, { motd: 'two\nlines' }, { pvp: 'yes' }]) {
        const res = await owner.http.put(url('/settings'), bad);
        expect(res.status, JSON.stringify(bad)).to.equal(400);
      }
      expect(await readFile(join(root, 'server.properties'), 'utf8')).to.equal(before);
    });
  });

  describe('PATCH /api/servers/:id', () => {
    it('renames the server', async () => {
      const res = await owner.http.patch(url(), { name: 'Creative world' });
      expect(res.body).to.deep.include({ restartRequired: false });
      expect(res.body.server.name).to.equal('Creative world');
      expect((await owner.http.get(url())).body.server.name).to.equal('Creative world');
    });

    it('honours If-Match with the server\'s ETag: 412 once stale, changing nothing; the answer\'s ETag is what GET answers next', async () => {
      const read = await owner.http.get(url());
      const tag = read.headers.get('etag')!;
      const renamed = await owner.http.patch(url(), { name: 'Tagged world' }, { headers: { 'if-match': tag } });
      expect(renamed.status, renamed.text).to.equal(200);
      expect(renamed.headers.get('etag')).to.equal((await owner.http.get(url())).headers.get('etag')).and.not.equal(tag);
      const stale = await owner.http.patch(url(), { name: 'Lost update' }, { headers: { 'if-match': tag } });
      expect(stale.status, stale.text).to.equal(412);
      expect(stale.body.error.code).to.equal('precondition_failed');
      expect((await owner.http.get(url())).body.server.name).to.equal('Tagged world');
      // The reinstall below confirms with the name the rename above gave.
      expect((await owner.http.patch(url(), { name: 'Creative world' })).status).to.equal(200);
    });

    it('resizes the container through the hosting provider and hands the agent the new heap, saying a restart is needed', async () => {
      const res = await owner.http.patch(url(), { memoryMb: 3072 });
      expect(res.status, res.text).to.equal(200);
      expect(res.body.restartRequired).to.equal(true);
      const ct = env.fleet.proxmox.containers().find((c) => c.vmid === server.vmid)!;
      expect(ct.memory).to.equal(3072 + 512);
      expect(payloadOf(server.vmid)).to.include({ heapMb: 3072 });
      expect((await owner.http.patch(url(), { memoryMb: 10 })).status).to.equal(400);
      expect(env.fleet.proxmox.containers().find((c) => c.vmid === server.vmid)!.memory).to.equal(3584);
    });

    it('a subuser needs the settings permission to rename', async () => {
      const guest = await subuser(env.tk, owner, server.id, ['files.read']);
      expect((await guest.http.patch(url(), { name: 'mine now' })).status).to.equal(403);
    });
  });

  describe('POST /api/servers/:id/reinstall', () => {
    it('a version change keeps the world’s files and leaves a backup', async () => {
      await mkdir(join(root, 'world/data'), { recursive: true });
      await writeFile(join(root, 'world/data/marker.dat'), 'my base');
      const res = await owner.http.post(url('/reinstall'), { version: '1.20.6' });
      expect(res.status, res.text).to.equal(202);
      expect(res.body.operation.kind).to.equal('kernel.reinstall');
      const op = await settle(owner, res.body.operation.id, 60_000);
      expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
      expect(await readFile(join(root, 'world/data/marker.dat'), 'utf8')).to.equal('my base');
      expect(payloadOf(server.vmid)).to.include({ version: '1.20.6', heapMb: 3072 });
      const backups = (await owner.http.get(url('/backups'))).body.backups as any[];
      expect(backups.map((b) => b.name)).to.include(`before-reinstall-${op.id.slice(0, 8)}`);
      expect((await owner.http.get(url())).body.server.state).to.equal('running');
    });

    it('refuses an Idempotency-Key longer than 200 characters or with spaces (400), starting nothing', async () => {
      for (const key of ['k'.repeat(201), randomBytes(4500).toString('base64url'), 'two words']) {
        const res = await owner.http.post(url('/reinstall'), { version: '1.20.6' }, { headers: { 'idempotency-key': key } });
        expect(res.status, res.text).to.equal(400);
        expect(res.body.error.details.fields[0].path).to.equal('header.Idempotency-Key');
      }
    });

    it('refuses an unknown version (400) and a wipe without the server’s name as confirmation (400)', async () => {
      expect((await owner.http.post(url('/reinstall'), { version: '0.1' })).status).to.equal(400);
      expect((await owner.http.post(url('/reinstall'), { wipe: true })).status).to.equal(400);
      expect((await owner.http.post(url('/reinstall'), { wipe: true, confirm: 'wrong name' })).status).to.equal(400);
      expect(await readFile(join(root, 'world/data/marker.dat'), 'utf8')).to.equal('my base');
    });

    it('a confirmed wipe starts from scratch, after a backup', async () => {
      const res = await owner.http.post(url('/reinstall'), { wipe: true, confirm: 'Creative world' });
      const op = await settle(owner, res.body.operation.id, 60_000);
      expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
      expect(await readdir(root)).to.deep.equal([]);
      const backups = (await owner.http.get(url('/backups'))).body.backups as any[];
      expect(backups.map((b) => b.name)).to.include(`before-reinstall-${op.id.slice(0, 8)}`);
    });
  });

  describe('GET /api/servers/:id/resources', () => {
    it('answers the agent’s figures, the same the console’s stats frames carry', async () => {
      // The reinstall before this one restarted the server: its figures are a booting server's until it is ready.
      await waitFor(async () => (await owner.http.get(url('/status'))).body.ready, 'the server is ready again');
      const res = await owner.http.get(url('/resources'));
      expect(res.status, res.text).to.equal(200);
      expect(res.body).to.include({ cpuPercent: 12.5, memoryBytes: 1536 * 1024 * 1024, memoryLimitBytes: 2048 * 1024 * 1024 });
      expect(res.body.players).to.deep.equal({ online: 2, max: 20 });
      expect(res.body.uptimeSeconds).to.be.a('number');
      const ticket = await owner.http.post(url('/console/ticket'));
      const { ws } = await connect(`${env.tk.url.replace('http', 'ws')}${url('/console')}?ticket=${ticket.body.ticket}`, { origin: PORTAL }, ['zpack.console.v1']);
      const stats = JSON.parse(await nextMessage(ws!, /"type":"stats"/));
      ws!.close();
      expect({ cpuPercent: stats.cpuPercent, memoryBytes: stats.memoryBytes, players: stats.players })
        .to.deep.equal({ cpuPercent: res.body.cpuPercent, memoryBytes: res.body.memoryBytes, players: res.body.players.online });
    });
  });
});
