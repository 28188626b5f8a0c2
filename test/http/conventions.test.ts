import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestKernel, TestUser } from '../harness';
import { call, gameServer, type GameServer } from '../files/api-fixture';
import { create, startFleet, startFleetKernel, type Fleet } from '../provisioning/fixture';

const PORTAL = 'https://portal.example.test';

/** Reads a server-sent event stream to its end: each event's name and parsed data. */
async function readEvents(res: Response): Promise<Array<{ event: string; data: any }>> {
  const events: Array<{ event: string; data: any }> = [];
  const text = await res.text();
  for (const block of text.split('\n\n')) {
    const event = /^event: (.+)$/m.exec(block)?.[1];
    const data = /^data: (.+)$/m.exec(block)?.[1];
    if (event && data) events.push({ event, data: JSON.parse(data) });
  }
  return events;
}

describe('HTTP conventions (ETag, If-Match, CORS, RateLimit, server-sent events)', () => {
  let fleet: Fleet;
  let tk: TestKernel;
  let owner: TestUser;
  let server: GameServer;

  before(async function () {
    this.timeout(60_000);
    fleet = await startFleet();
    tk = await startFleetKernel(fleet, {
      config: { server: { cors: { allowedOrigins: [PORTAL] }, events: { pollMs: 10, heartbeatMs: 1000 } } },
    });
    owner = await tk.user();
    server = await gameServer(owner, 'conventions-1');
  });
  after(async () => {
    await tk?.stop();
    await fleet?.stop();
  });

  describe('ETag on a server', () => {
    it('GET /api/servers/:id sends an ETag, and If-None-Match with it is 304 without a body', async () => {
      const first = await owner.http.get(`/api/servers/${server.id}`);
      const tag = first.headers.get('etag');
      expect(tag).to.match(/^"[A-Za-z0-9_-]+"$/);
      const again = await owner.http.get(`/api/servers/${server.id}`, { headers: { 'if-none-match': tag! } });
      expect(again.status).to.equal(304);
      expect(again.text).to.equal('');
      const other = await owner.http.get(`/api/servers/${server.id}`, { headers: { 'if-none-match': '"something-else"' } });
      expect(other.status).to.equal(200);
      expect(other.body.server.id).to.equal(server.id);
    });

    it('the tag changes when the server does', async () => {
      const before = (await owner.http.get(`/api/servers/${server.id}`)).headers.get('etag');
      expect((await owner.http.post(`/api/servers/${server.id}/power`, { action: 'stop' })).status).to.equal(202);
      const after = await owner.http.get(`/api/servers/${server.id}`, { headers: { 'if-none-match': before! } });
      expect(after.status).to.equal(200);
      expect(after.headers.get('etag')).to.not.equal(before);
      expect((await owner.http.post(`/api/servers/${server.id}/power`, { action: 'start' })).status).to.equal(202);
    });

    it('DELETE /api/servers/:id with a stale If-Match is 412 and deletes nothing', async () => {
      const res = await owner.http.delete(`/api/servers/${server.id}`, { headers: { 'if-match': '"stale"' } });
      expect(res.status).to.equal(412);
      expect(res.body.error.code).to.equal('precondition_failed');
      expect((await owner.http.get(`/api/servers/${server.id}`)).body.server.state).to.not.equal('deleting');
    });
  });

  describe('If-Match on file writes', () => {
    const content = (path: string) => `/api/servers/${server.id}/files/content?path=${encodeURIComponent(path)}`;
    const onDisk = () => readFile(join(fleet.agents.rootOf(server.vmid), 'server.properties'), 'utf8');

    it('a save from a stale editor tab is 412 and leaves the file as the newer save wrote it', async () => {
      const read = await call(tk, owner.accessToken, 'GET', content('/server.properties'));
      expect(read.status).to.equal(200);
      const tabA = read.headers.get('etag')!;
      expect(tabA).to.match(/^"f[0-9a-z]+-[0-9a-z]+"$/);
      // Tab B saves first, from the same version.
      const saved = await call(tk, owner.accessToken, 'PUT', content('server.properties'), { body: 'motd=from tab B\n', headers: { 'if-match': tabA } });
      expect(saved.status, saved.bytes.toString()).to.equal(200);
      expect(saved.headers.get('etag')).to.not.equal(tabA);
      // Tab A saves what it read long ago.
      const stale = await call(tk, owner.accessToken, 'PUT', content('server.properties'), { body: 'motd=from stale tab A, longer\n', headers: { 'if-match': tabA } });
      expect(stale.status).to.equal(412);
      expect(stale.json.error.code).to.equal('precondition_failed');
      expect(await onDisk()).to.equal('motd=from tab B\n');
      // With the tag of what is there now, the write goes through.
      const fresh = await call(tk, owner.accessToken, 'PUT', content('server.properties'), { body: 'motd=merged\n', headers: { 'if-match': saved.headers.get('etag')! } });
      expect(fresh.status).to.equal(200);
      expect(await onDisk()).to.equal('motd=merged\n');
    });

    it('the content ETag answers If-None-Match with 304', async () => {
      const read = await call(tk, owner.accessToken, 'GET', content('server.properties'));
      const again = await call(tk, owner.accessToken, 'GET', content('server.properties'), { headers: { 'if-none-match': read.headers.get('etag')! } });
      expect(again.status).to.equal(304);
      expect(again.bytes.length).to.equal(0);
    });

    it('If-Match on a file that does not exist is 412 and creates nothing', async () => {
      const res = await call(tk, owner.accessToken, 'PUT', content('nope/new.txt'), { body: 'x', headers: { 'if-match': '*' } });
      expect(res.status).to.equal(412);
      const stat = await call(tk, owner.accessToken, 'GET', `/api/servers/${server.id}/files/stat?path=nope/new.txt`);
      expect(stat.status).to.equal(404);
    });

    it('a missing path is 400, and a leading "/" is the server root', async () => {
      const missing = await call(tk, owner.accessToken, 'GET', `/api/servers/${server.id}/files`);
      expect(missing.status).to.equal(400);
      expect(missing.json.error.details.fields[0]).to.deep.equal({ path: 'query.path', message: 'is required ("/" is the server root)' });
      const rooted = await call(tk, owner.accessToken, 'GET', `/api/servers/${server.id}/files?path=/`);
      expect(rooted.status).to.equal(200);
      expect(rooted.json.path).to.equal('');
      const nested = await call(tk, owner.accessToken, 'GET', content('/server.properties'));
      expect(nested.json.path).to.equal('server.properties');
    });
  });

  describe('CORS', () => {
    const preflight = (origin: string) => fetch(`${tk.url}/api/servers`, {
      method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });

    it('answers a preflight from an allowed portal origin, echoing it with credentials allowed', async () => {
      const res = await preflight(PORTAL);
      expect(res.status).to.equal(204);
      expect(res.headers.get('access-control-allow-origin')).to.equal(PORTAL);
      expect(res.headers.get('access-control-allow-credentials')).to.equal('true');
      expect(res.headers.get('access-control-allow-methods')).to.include('DELETE');
      expect(res.headers.get('access-control-allow-headers')).to.include('Authorization').and.include('If-Match');
      expect(res.headers.get('vary')).to.include('Origin');
    });

    it('gives another origin no CORS header at all, on the preflight or the request', async () => {
      const res = await preflight('https://evil.example.test');
      for (const name of res.headers.keys()) expect(name).to.not.match(/^access-control-/);
      const get = await owner.http.get('/api/me', { headers: { origin: 'https://evil.example.test' } });
      expect(get.status).to.equal(200);
      for (const name of get.headers.keys()) expect(name).to.not.match(/^access-control-/);
    });

    it('lets the portal read ETag and the RateLimit headers from an actual request', async () => {
      const res = await owner.http.get(`/api/servers/${server.id}`, { headers: { origin: PORTAL } });
      expect(res.headers.get('access-control-allow-origin')).to.equal(PORTAL);
      expect(res.headers.get('access-control-expose-headers')).to.include('ETag').and.include('RateLimit-Remaining');
    });
  });

  describe('RateLimit headers', () => {
    it('POST /api/auth/login counts down RateLimit-Remaining within the address window', async () => {
      const login = () => tk.http.post('/api/auth/login', { email: owner.email, password: owner.password });
      const first = await login();
      const second = await login();
      expect(first.headers.get('ratelimit-limit')).to.equal(String(tk.config.auth.loginLimit.perAddress.max));
      expect(Number(second.headers.get('ratelimit-remaining'))).to.equal(Number(first.headers.get('ratelimit-remaining')) - 1);
      expect(Number(first.headers.get('ratelimit-reset'))).to.be.within(1, tk.config.auth.loginLimit.perAddress.windowSeconds);
    });

    it('POST /api/auth/password-reset/request and /register send them too', async () => {
      const reset = await tk.http.post('/api/auth/password-reset/request', { email: 'nobody@example.test' });
      expect(reset.status).to.equal(202);
      expect(reset.headers.get('ratelimit-remaining')).to.match(/^\d+$/);
      const register = await tk.http.post('/api/auth/register', { email: 'rl-headers@example.test', password: 'a-long-password-1' });
      expect(register.headers.get('ratelimit-limit')).to.equal(String(tk.config.auth.registerLimit.perAddress.max));
    });
  });

  describe('GET /api/operations/:id/events', () => {
    it('streams the phases of a create as server-sent events and closes once it has succeeded', async () => {
      const accepted = await create(owner, 'conventions-sse');
      expect(accepted.status).to.equal(202);
      const res = await fetch(`${tk.url}/api/operations/${accepted.body.operation.id}/events`, { headers: { authorization: `Bearer ${owner.accessToken}` } });
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^text\/event-stream/);
      const events = await readEvents(res);
      const steps = events.filter((e) => e.event === 'phase').map((e) => `${e.data.state}/${e.data.phase}`);
      expect(steps.length).to.be.at.least(2);
      // An event is a change: never the same state and phase twice in a row.
      expect(steps.filter((step, i) => step === steps[i - 1])).to.deep.equal([]);
      expect(steps[steps.length - 1]).to.match(/^succeeded\//);
      const last = events[events.length - 1];
      expect(last.event).to.equal('end');
      expect(last.data).to.include({ id: accepted.body.operation.id, state: 'succeeded' });
      expect(events.filter((e) => e.event === 'end')).to.have.length(1);
    });

    it('is 404 for another account’s operation and 401 without a token', async () => {
      const accepted = await create(owner, 'conventions-sse-2');
      const stranger = await tk.user();
      const other = await fetch(`${tk.url}/api/operations/${accepted.body.operation.id}/events`, { headers: { authorization: `Bearer ${stranger.accessToken}` } });
      expect(other.status).to.equal(404);
      expect((await fetch(`${tk.url}/api/operations/${accepted.body.operation.id}/events`)).status).to.equal(401);
    });
  });
});
