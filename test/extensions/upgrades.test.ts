import { expect } from 'chai';
import { request } from 'node:http';
import { BootError } from '../../kernel/api';
import { UpgradeDispatcher } from '../../kernel/core/upgrades/dispatcher';
import { startTestKernel, testConfig, type TestKernel, type TestUser } from '../harness';
import { PORTAL, connect, nextMessage } from '../console/client';
import { secondTypeConfig } from './second-type-config';

/** A plain HTTP GET with a Host of our choosing (fetch will not send one). */
function getWithHost(url: string, host: string, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { headers: { host } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('WebSocket upgrades and host routes declared by a plugin (the second-type fixture)', () => {
  let tk: TestKernel;
  let user: TestUser;
  let ws: string;

  before(async () => {
    tk = await startTestKernel({
      // The api role: the fixture's game type needs no host or agent to serve HTTP and upgrades.
      config: secondTypeConfig({ role: 'api', console: { allowedOrigins: [PORTAL] } }),
    });
    user = await tk.user();
    ws = tk.url.replace('http', 'ws');
  });
  after(() => tk?.stop());

  const ticket = async (purpose: 'feed' | 'dashboard') => {
    const res = await user.http.post('/api/beacon/tickets', { purpose });
    expect(res.status).to.equal(200);
    return res.body.ticket as string;
  };

  describe('matched by path', () => {
    it('opens with a ticket of its purpose, with the path parameters and the ticket’s account', async () => {
      const opened = await connect(`${ws}/api/beacon/feed/north?ticket=${await ticket('feed')}`);
      opened.ws!.send('ping');
      expect(JSON.parse(await nextMessage(opened.ws!, /channel/))).to.deep.equal({ channel: 'north', email: user.email, echo: 'ping' });
      opened.ws!.close();
    });

    it('is refused before the 101 without a ticket: 401, the envelope and the caller’s X-Request-Id', async () => {
      const res = await connect(`${ws}/api/beacon/feed/north`, { origin: PORTAL, 'x-request-id': 'upgrade-refusal-1' });
      expect(res.ws).to.equal(undefined);
      expect(res.status).to.equal(401);
      expect(res.headers!['x-request-id']).to.equal('upgrade-refusal-1');
      expect(res.body.error).to.include({ code: 'unauthenticated', requestId: 'upgrade-refusal-1' });
    });

    it('refuses a ticket issued for another purpose (a console or dashboard ticket), and spends it', async () => {
      const dashboard = await ticket('dashboard');
      expect((await connect(`${ws}/api/beacon/feed/x?ticket=${dashboard}`)).status).to.equal(401);
      expect((await connect(`${ws}/api/beacon/feed/x?ticket=${dashboard}`, { origin: PORTAL, host: 'beacon-1.play.test' })).status).to.equal(401);
    });

    it('refuses an Origin outside the allowlist (403) without spending the ticket', async () => {
      const t = await ticket('feed');
      const res = await connect(`${ws}/api/beacon/feed/x?ticket=${t}`, { origin: 'https://evil.example' });
      expect(res.status).to.equal(403);
      expect(res.body.error.code).to.equal('forbidden');
      const ok = await connect(`${ws}/api/beacon/feed/x?ticket=${t}`);
      expect(ok.ws).to.not.equal(undefined);
      ok.ws!.close();
    });

    it('refuses a ticket whose login session has ended', async () => {
      const t = await ticket('feed');
      expect((await user.http.post('/api/auth/logout')).status).to.be.oneOf([200, 204]);
      expect((await connect(`${ws}/api/beacon/feed/x?ticket=${t}`)).status).to.equal(401);
      user = await tk.user();
    });
  });

  describe('matched by Host', () => {
    it('takes every path of its hostnames, with the host pattern’s named groups', async () => {
      const opened = await connect(`${ws}/api/servers/00000000-0000-4000-8000-000000000000/console?ticket=${await ticket('dashboard')}`,
        { origin: PORTAL, host: 'beacon-5001.play.test' });
      opened.ws!.send('where am I?');
      expect(JSON.parse(await nextMessage(opened.ws!, /vmid/))).to.deep.equal({ vmid: '5001', path: '/api/servers/00000000-0000-4000-8000-000000000000/console' });
      opened.ws!.close();
    });

    it('is refused before the 101 without a ticket, naming what was refused', async () => {
      const res = await connect(`${ws}/anything`, { host: 'beacon-5001.play.test', 'x-request-id': 'dashboard-refusal' });
      expect(res.status).to.equal(403);
      expect(res.headers!['x-request-id']).to.equal('dashboard-refusal');
      expect(res.body.error).to.include({ code: 'forbidden', message: 'An Origin header is required to open a beacon dashboard' });
    });
  });

  it('answers an upgrade nothing matches with 404 and the envelope', async () => {
    const res = await connect(`${ws}/api/nowhere`);
    expect(res.status).to.equal(404);
    expect(res.body.error.code).to.equal('not_found');
    expect(res.body.error.requestId).to.equal(res.headers!['x-request-id']);
  });

  describe('plain HTTP by Host', () => {
    it('serves any path of the matched hostnames from the plugin, with a request id', async () => {
      const res = await getWithHost(tk.url, 'beacon-5002.play.test', '/api/me');
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ dashboard: '5002', method: 'GET', path: '/api/me', requestId: res.headers['x-request-id'] });
    });

    it('maps the plugin’s errors to the envelope', async () => {
      const res = await getWithHost(tk.url, 'beacon-5002.play.test', '/forbidden');
      expect(res.status).to.equal(403);
      expect(res.body.error).to.include({ code: 'forbidden', message: 'Not this one' });
    });

    it('leaves other hostnames to the API', async () => {
      const res = await getWithHost(tk.url, 'api.zpack.test', '/api/me');
      expect(res.status).to.equal(401);
      expect(res.body.error.code).to.equal('unauthenticated');
    });
  });
});

describe('UpgradeDispatcher', () => {
  it('fails boot when two owners declare the same upgrade, or one declares neither path nor host', () => {
    const authority = { redeem: async () => null, liveSession: async () => undefined, liveApiKey: async () => undefined };
    const d = new UpgradeDispatcher(testConfig(), authority, undefined as never);
    d.register('one', { path: '/api/x' }, async () => undefined);
    expect(() => d.register('two', { path: '/api/x' }, async () => undefined)).to.throw(BootError, /declared by both "one" and "two"/);
    expect(() => d.register('two', {}, async () => undefined)).to.throw(BootError, /neither path nor host/);
    d.close();
  });
});
