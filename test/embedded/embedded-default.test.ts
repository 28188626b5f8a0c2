import { expect } from 'chai';
import { statSync } from 'node:fs';
import { WebSocket } from 'ws';
import { TestClient, until } from '../harness';
import { nextMessage } from '../console/client';
import { Deployment } from './zpack-process';

const asRoot = process.getuid?.() === 0;

describe('The embedded default, run as `node dist/kernel/main.js all`', function () {
  this.timeout(60_000);
  const zpack = new Deployment();
  const beside = new Deployment(0o755);
  let admin: { email: string; password: string };
  let user: TestClient;
  let server: { id: string; backupId: string };

  before(async () => {
    await zpack.start();
  });

  after(async () => {
    await Promise.all([zpack.destroy(), beside.destroy()]);
  });

  async function logIn(): Promise<TestClient> {
    const login = await new TestClient(zpack.url).post('/api/auth/login', admin);
    expect(login.status, login.text).to.equal(200);
    return new TestClient(zpack.url, login.body.accessToken);
  }

  async function console(id: string): Promise<WebSocket> {
    const ticket = await user.post(`/api/servers/${id}/console/ticket`);
    expect(ticket.body.ticket, ticket.text).to.be.a('string');
    const ws = new WebSocket(`${zpack.url.replace('http', 'ws')}/api/servers/${id}/console?ticket=${ticket.body.ticket}`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return ws;
  }

  it('starts from a checkout in a mode-700 folder, its PostgreSQL data where the postgres user can enter, named in the banner', () => {
    expect(statSync(zpack.home).mode & 0o777).to.equal(0o700);
    const banner = /data: +PostgreSQL in (\S+)/.exec(zpack.output)?.[1];
    expect(banner, zpack.output).to.be.a('string');
    // As root, postgres runs as the `postgres` user, which cannot enter the home: the data moved.
    if (asRoot) expect(banner!.startsWith(zpack.systemDir)).to.equal(true);
    else expect(banner!.startsWith(zpack.home)).to.equal(true);
  });

  it('runs create-admin while it runs: against its PostgreSQL, which stays up', async () => {
    const email = 'admin@example.test';
    const created = await zpack.command('create-admin', '--email', email);
    expect(created.code, created.output).to.equal(0);
    const password = /created with password (\S+)/.exec(created.output)?.[1];
    expect(password, created.output).to.be.a('string');
    admin = { email, password: password! };
    expect((await fetch(`${zpack.url}/readyz`)).status).to.equal(200);
    user = await logIn();
  });

  it('keeps a server working across a stop and a start: files, backups, console and power', async () => {
    const accepted = await user.post('/api/instances',
      { kind: 'game', type: 'minecraft', name: 'Survival', options: { version: '1.21.4', flavor: 'paper', memoryMb: 2048 } },
      { headers: { 'idempotency-key': 'embedded-restart' } });
    expect(accepted.status, accepted.text).to.equal(202);
    const op = await until('provisioning', async () => (await user.get(`/api/operations/${accepted.body.operation.id}`)).body,
      (body: any) => body.state !== 'queued' && body.state !== 'running', 30_000, 100);
    expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
    const id = op.instanceId as string;
    const written = await user.request('PUT', `/api/servers/${id}/files/content?path=notes.txt`, { raw: 'kept across restarts\n', headers: { 'content-type': 'text/plain' } });
    expect(written.status, written.text).to.equal(200);
    const backup = await user.post(`/api/servers/${id}/backups`, { name: 'before-restart' });
    expect(backup.status, backup.text).to.equal(202);
    server = { id, backupId: backup.body.backup.id };
    await until('the backup', async () => (await user.get(`/api/servers/${id}/backups`)).body.backups[0]?.state, (s) => s === 'ready');

    expect(await zpack.stop()).to.equal(0);
    for (const stage of ['draining', 'stopping HTTP', 'stopping workers', 'stopping plugins', 'stopping embedded PostgreSQL', '"msg":"stopped"']) {
      expect(zpack.output).to.contain(stage);
    }
    await zpack.start();
    user = await logIn();

    const file = await user.get(`/api/servers/${id}/files/content?path=notes.txt`);
    expect(file.status, file.text).to.equal(200);
    expect(file.body.content).to.equal('kept across restarts\n');
    const backups = await user.get(`/api/servers/${id}/backups`);
    expect(backups.body.backups.map((b: any) => [b.id, b.state])).to.deep.equal([[server.backupId, 'ready']]);
    const ws = await console(id);
    const players = nextMessage(ws, /There are \d+ of a max/);
    ws.send('list');
    await players;
    ws.close();
    const stop = await user.post(`/api/servers/${id}/power`, { action: 'stop' });
    expect(stop.status, stop.text).to.equal(202);
    expect(stop.body.state).to.equal('stopped');
    expect((await user.post(`/api/servers/${id}/power`, { action: 'start' })).status).to.equal(202);
    await until('the server to run again', async () => (await user.get(`/api/servers/${id}/status`)).body.state, (s) => s === 'running', 15_000, 100);
  });

  it('lets an operator crash a server by typing `crash` at its console, and the supervision records it', async () => {
    const ws = await console(server.id);
    ws.send('crash oom');
    const crashes = await until('a crash report', async () => (await user.get(`/api/servers/${server.id}/crashes`)).body.crashes,
      (list: any[]) => list.length === 1, 15_000, 100);
    expect(crashes[0].classification).to.equal('oom');
    ws.terminate();
  });

  it('lets a second deployment come up beside it on another PORT, keeping its data in its own checkout', async () => {
    await beside.start();
    expect(beside.port).to.not.equal(zpack.port);
    for (const url of [zpack.url, beside.url]) expect((await fetch(`${url}/readyz`)).status).to.equal(200);
    expect(beside.output).to.contain(`PostgreSQL in ${beside.home}/data/pg `);
  });
});
