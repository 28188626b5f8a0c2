import { expect } from 'chai';
import { WebSocket } from 'ws';
import { closed, connect, nextMessage } from '../console/client';
import { settle } from '../provisioning/fixture';
import type { TestUser } from '../harness';
import { IdeCredentials } from '../../plugins/codeserver/ide/credentials';
import { subuser } from '../management/fixture';
import { DEV_DOMAIN, IDE_SECRET, PORTAL, billing, createDev, httpTo, openIde, pipelined, rawRequest, startDevEnv, type DevContainer, type DevEnv } from './fixture';

describe('Hosted IDE: dev-<vmid>.<devDomain> and /__ide/:id, proxied to code-server only', () => {
  let env: DevEnv;
  let owner: TestUser;
  let a: DevContainer;
  let b: DevContainer;

  before(async function () {
    this.timeout(60_000);
    env = await startDevEnv();
    owner = await env.tk.user({ email: 'ide-owner@zpack.test' });
    a = await createDev(owner, 'ide-a');
    b = await createDev(owner, 'ide-b');
  });
  after(async () => {
    await env?.tk.stop();
    await env?.fleet.stop();
  });

  const csRequests = () => env.fleet.agents.codeServerRequests;
  const ws = (host: string, path: string, headers: Record<string, string>) => connect(`ws://127.0.0.1:${env.port}${path}`, { host, ...headers });

  describe('POST /api/dev/:id/ide-token and the bootstrap', () => {
    it('hands out a token bound to the container and the hosted URL on dev-<vmid>.<devDomain>', async () => {
      const res = await owner.http.post(`/api/dev/${a.id}/ide-token`);
      expect(res.status).to.equal(200);
      const url = new URL(res.body.url);
      expect(url.protocol).to.equal('https:');
      expect(url.hostname).to.equal(`dev-${a.vmid}.${DEV_DOMAIN}`);
      expect(url.pathname).to.equal(`/api/dev/${a.id}/ide`);
      expect(url.searchParams.get('token')).to.equal(res.body.token);
      expect(new Date(res.body.expiresAt).getTime()).to.be.greaterThan(Date.now());
    });

    it('sets an HttpOnly, Secure, SameSite=Lax cookie for that one host (no Domain) and redirects to the IDE', async () => {
      const { setCookie } = await openIde(env, owner, a);
      expect(setCookie).to.match(/^zpack_ide=[^;]+; Path=\/; Max-Age=\d+; HttpOnly; Secure; SameSite=Lax$/);
      expect(setCookie.toLowerCase()).to.not.include('domain=');
    });

    it('refuses a token of container A at container B’s bootstrap (401), on B’s host and on the API host', async () => {
      const token = (await owner.http.post(`/api/dev/${a.id}/ide-token`)).body.token as string;
      const onB = await httpTo(env, 'GET', `/api/dev/${b.id}/ide?token=${encodeURIComponent(token)}`, { host: b.host });
      expect(onB.status).to.equal(401);
      const mixed = await httpTo(env, 'GET', `/api/dev/${a.id}/ide?token=${encodeURIComponent(token)}`, { host: b.host });
      expect(mixed.status).to.equal(401);
      const api = await owner.http.get(`/api/dev/${b.id}/ide?token=${encodeURIComponent(token)}`);
      expect(api.status).to.equal(401);
    });

    it('spends the token at its first exchange: a second bootstrap with it is 401', async () => {
      const { url } = await openIde(env, owner, a);
      const again = new URL(url);
      expect((await httpTo(env, 'GET', again.pathname + again.search, { host: a.host })).status).to.equal(401);
    });

    it('refuses an expired token, a cookie offered as a token, and a forged one (401), setting no cookie', async () => {
      const signer = new IdeCredentials(IDE_SECRET);
      const [row] = await env.tk.kernel.ds.query(`SELECT id FROM session WHERE account_id = $1 ORDER BY created_at DESC LIMIT 1`, [owner.id]);
      const grant = { instanceId: a.id, accountId: owner.id, sessionId: row.id };
      const tokens = [
        signer.issue('token', { ...grant, expiresAt: Date.now() - 1000 }),
        signer.issue('cookie', { ...grant, expiresAt: Date.now() + 60_000 }),
        new IdeCredentials('another-secret').issue('token', { ...grant, expiresAt: Date.now() + 60_000 }),
      ];
      for (const token of tokens) {
        const res = await httpTo(env, 'GET', `/api/dev/${a.id}/ide?token=${encodeURIComponent(token)}`, { host: a.host });
        expect(res.status).to.equal(401);
        expect(res.headers['set-cookie']).to.equal(undefined);
      }
      const fresh = signer.issue('token', { ...grant, expiresAt: Date.now() + 60_000 });
      expect((await httpTo(env, 'GET', `/api/dev/${a.id}/ide?token=${encodeURIComponent(fresh)}`, { host: a.host })).status).to.equal(302);
    });

    it('answers 404 to a stranger asking for a token', async () => {
      const stranger = await env.tk.user({ email: 'ide-stranger@zpack.test' });
      expect((await stranger.http.post(`/api/dev/${a.id}/ide-token`)).status).to.equal(404);
    });
  });

  describe('the proxy', () => {
    it('serves code-server pages through the hosted name, without our cookie or bearer reaching it', async () => {
      const { cookie } = await openIde(env, owner, a);
      const before = csRequests().length;
      const page = await httpTo(env, 'GET', '/', { host: a.host, cookie: `theme=dark; ${cookie}`, authorization: 'Bearer leaked' });
      expect(page.status).to.equal(200);
      expect(page.text).to.include(`dev container ${a.vmid}`);
      const api = await httpTo(env, 'POST', '/some/asset.js?v=1', { host: a.host, cookie, 'content-type': 'text/plain' }, 'hello');
      expect(JSON.parse(api.text)).to.deep.equal({ vmid: a.vmid, method: 'POST', path: '/some/asset.js?v=1', bytes: 5 });
      const seen = csRequests().slice(before);
      expect(seen.map((r) => r.vmid)).to.deep.equal([a.vmid, a.vmid]);
      expect(seen[0].headers.cookie).to.equal('theme=dark');
      expect(seen[0].headers.authorization).to.equal(undefined);
    });

    it('refuses a cookie of container A on container B’s host (401) and B’s code-server sees nothing', async () => {
      const { cookie } = await openIde(env, owner, a);
      const before = csRequests().length;
      const res = await httpTo(env, 'GET', '/', { host: b.host, cookie });
      expect(res.status).to.equal(401);
      const sock = await ws(b.host, '/', { cookie, origin: `https://${b.host}` });
      expect(sock.status).to.equal(401);
      expect(csRequests().length).to.equal(before);
    });

    it('answers 401 without a cookie, before code-server is asked', async () => {
      const before = csRequests().length;
      expect((await httpTo(env, 'GET', '/', { host: a.host })).status).to.equal(401);
      expect(csRequests().length).to.equal(before);
    });

    it('bridges a WebSocket from the IDE’s own origin to code-server’s echo', async () => {
      const { cookie } = await openIde(env, owner, a);
      const opened = await ws(a.host, '/stable/ws?reconnection=false', { cookie, origin: `https://${a.host}` });
      expect(opened.ws, JSON.stringify(opened.body)).to.not.equal(undefined);
      opened.ws!.send('ping through the proxy');
      expect(await nextMessage(opened.ws!, /ping/)).to.equal('ping through the proxy');
      opened.ws!.close();
    });

    it('serves the legacy /__ide/:id/* path the same way, with the cookie scoped to that path', async () => {
      const token = (await owner.http.post(`/api/dev/${a.id}/ide-token`)).body.token as string;
      const boot = await httpTo(env, 'GET', `/api/dev/${a.id}/ide?token=${encodeURIComponent(token)}`, { host: env.address });
      expect(boot.status).to.equal(302);
      expect(boot.headers.location).to.equal(`/__ide/${a.id}/`);
      const setCookie = String(boot.headers['set-cookie']);
      expect(setCookie).to.include(`Path=/__ide/${a.id}/`).and.include('HttpOnly').and.include('Secure').and.include('SameSite=Lax');
      const cookie = setCookie.split(';')[0];
      const page = await httpTo(env, 'GET', `/__ide/${a.id}/`, { host: env.address, cookie });
      expect(page.status).to.equal(200);
      expect(page.text).to.include(`dev container ${a.vmid}`);
      expect((await httpTo(env, 'GET', `/__ide/${b.id}/`, { host: env.address, cookie })).status).to.equal(401);
      const opened = await ws(env.address, `/__ide/${a.id}/socket`, { cookie, origin: `http://${env.address}` });
      expect(opened.ws).to.not.equal(undefined);
      opened.ws!.send('legacy');
      expect(await nextMessage(opened.ws!, /legacy/)).to.equal('legacy');
      opened.ws!.close();
    });
    it('routes each request on one keep-alive connection by its own Host: pipelined requests for another container never reach the first', async () => {
      const { cookie: cookieA } = await openIde(env, owner, a);
      const { cookie: cookieB } = await openIde(env, owner, b);
      const before = csRequests().length;
      const request = (host: string, path: string, cookie: string, last = false) =>
        [`GET ${path} HTTP/1.1`, `Host: ${host}`, `Cookie: ${cookie}`, ...(last ? ['Connection: close'] : [])].join('\r\n') + '\r\n\r\n';
      // All four in one write, before any answer: the proxy must not stick to the first container.
      const answers = await pipelined(env, [
        request(a.host, '/pipelined/1', cookieA),
        request(b.host, '/pipelined/2', cookieA),
        request(b.host, '/pipelined/3', cookieB),
        request(a.host, '/pipelined/4', cookieB, true),
      ]);
      expect(answers.map((r) => r.status)).to.deep.equal([200, 401, 200, 401]);
      expect(JSON.parse(answers[0].body)).to.include({ vmid: a.vmid, path: '/pipelined/1' });
      expect(JSON.parse(answers[2].body)).to.include({ vmid: b.vmid, path: '/pipelined/3' });
      // Pipelined requests are handled concurrently: which reaches its code-server first is not fixed, where each lands is.
      expect(csRequests().slice(before).map((r) => [r.vmid, r.path])).to.have.deep.members([[a.vmid, '/pipelined/1'], [b.vmid, '/pipelined/3']]);
    });

    it('streams a chunked request body to code-server whole, framed once', async () => {
      const { cookie } = await openIde(env, owner, a);
      const before = csRequests().length;
      const res = await httpTo(env, 'POST', '/upload', { host: a.host, cookie, 'transfer-encoding': 'chunked', 'content-type': 'text/plain' }, 'x'.repeat(100_000));
      expect(JSON.parse(res.text)).to.deep.equal({ vmid: a.vmid, method: 'POST', path: '/upload', bytes: 100_000 });
      const seen = csRequests().slice(before);
      expect(seen.map((r) => [r.headers['transfer-encoding'], r.headers['content-length']])).to.deep.equal([['chunked', undefined]]);
    });

    it('answers 400 to an upgrade that is not a WebSocket handshake, before code-server is asked', async () => {
      const { cookie } = await openIde(env, owner, a);
      const before = csRequests().length;
      const res = await rawRequest(env, [
        'GET / HTTP/1.1', `Host: ${a.host}`, `Cookie: ${cookie}`, `Origin: https://${a.host}`,
        'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: not-a-key',
      ]);
      expect(res.status).to.equal(400);
      expect(csRequests().length).to.equal(before);
    });

    it('pipes a large WebSocket message through as it is, and a close order still ends the socket with its code', async () => {
      const user = await env.tk.user({ email: 'ide-large@zpack.test' });
      const dev = await createDev(user, 'ide-large');
      const { cookie } = await openIde(env, user, dev);
      const opened = await ws(dev.host, '/', { cookie, origin: `https://${dev.host}` });
      const big = Buffer.alloc(3 * 1024 * 1024, 7);
      const echoed = new Promise<Buffer>((resolve) => opened.ws!.once('message', (data) => resolve(data as Buffer)));
      opened.ws!.send(big);
      expect((await echoed).equals(big)).to.equal(true);
      // Revoked while code-server streams another one back: the close goes in between frames, never inside one.
      const ended = closed(opened.ws!);
      opened.ws!.send(big);
      expect((await user.http.post('/api/auth/logout')).status).to.equal(204);
      expect((await ended).code).to.equal(4401);
    });
  });

  describe('Host-header tricks never reach a container', () => {
    let cookie: string;
    before(async () => {
      ({ cookie } = await openIde(env, owner, a));
    });

    const hostile = () => {
      const v = a.vmid;
      return [
        `dev-${v}.evil.com`,
        `dev-${v}.${DEV_DOMAIN}.evil.com`,
        `evil.com/dev-${v}.${DEV_DOMAIN}`,
        `dev-0${v}.${DEV_DOMAIN}`,
        `dev-${v}.${DEV_DOMAIN}:6000`,
        `DEV-${v}.${DEV_DOMAIN.toUpperCase()}`,
        `Dev-${v}.${DEV_DOMAIN}`,
        `dev-${v}.${DEV_DOMAIN}.`,
        `dev-${v}.${DEV_DOMAIN}:0`,
      ];
    };

    it('answers 4xx to every hostile Host, HTTP and WebSocket, and code-server records zero requests', async () => {
      const before = csRequests().length;
      for (const host of hostile()) {
        const res = await httpTo(env, 'GET', '/', { host, cookie });
        expect(res.status, `HTTP ${host}`).to.be.within(400, 499);
        const sock = await ws(host, '/', { cookie, origin: `https://${a.host}` }).catch(() => ({ status: 400, ws: undefined }));
        expect(sock.ws, `WebSocket ${host}`).to.equal(undefined);
        expect(sock.status, `WebSocket ${host}`).to.be.within(400, 499);
      }
      expect(csRequests().length).to.equal(before);
    });

    it('answers 4xx to a missing Host, two Host headers, an absolute-form request line and a disagreeing X-Forwarded-Host, with zero requests reaching code-server', async () => {
      const before = csRequests().length;
      const cases = [
        ['GET / HTTP/1.1', `Cookie: ${cookie}`, 'Connection: close'],
        ['GET / HTTP/1.1', `Host: ${a.host}`, `Host: ${b.host}`, `Cookie: ${cookie}`, 'Connection: close'],
        ['GET / HTTP/1.1', `Host: ${b.host}`, `Host: ${a.host}`, `Cookie: ${cookie}`, 'Connection: close'],
        ['GET http://evil.com/ HTTP/1.1', `Host: ${a.host}`, `Cookie: ${cookie}`, 'Connection: close'],
        [`GET http://${b.host}/ HTTP/1.1`, `Host: ${a.host}`, `Cookie: ${cookie}`, 'Connection: close'],
      ];
      for (const lines of cases) {
        const res = await rawRequest(env, lines);
        expect(res.status, lines.join(' | ')).to.be.within(400, 499);
      }
      const forwarded = await httpTo(env, 'GET', '/', { host: a.host, 'x-forwarded-host': b.host, cookie });
      expect(forwarded.status).to.be.within(400, 499);
      const upgrade = await rawRequest(env, [
        'GET / HTTP/1.1', `Host: ${a.host}`, `Host: ${a.host}`, `Cookie: ${cookie}`, `Origin: https://${a.host}`,
        'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      ]);
      expect(upgrade.status).to.be.within(400, 499);
      expect(csRequests().length).to.equal(before);
    });

    it('refuses a WebSocket upgrade with a foreign Origin (403) or none, with zero requests reaching code-server', async () => {
      const before = csRequests().length;
      for (const origin of ['https://evil.com', PORTAL, `https://${b.host}`, 'null']) {
        const res = await ws(a.host, '/', { cookie, origin });
        expect(res.status, origin).to.equal(403);
      }
      const none = await ws(a.host, '/', { cookie });
      expect(none.status).to.equal(403);
      expect(csRequests().length).to.equal(before);
    });
  });

  describe('ends: a clean 401/402/404, and an open IDE WebSocket closed', () => {
    it('closes the socket and answers 401 once the login session is revoked', async () => {
      const user = await env.tk.user({ email: 'ide-revoke@zpack.test' });
      const dev = await createDev(user, 'ide-revoke');
      const { cookie } = await openIde(env, user, dev);
      const opened = await ws(dev.host, '/', { cookie, origin: `https://${dev.host}` });
      const ended = closed(opened.ws!);
      expect((await user.http.post('/api/auth/logout')).status).to.equal(204);
      expect((await ended).code).to.equal(4401);
      expect((await httpTo(env, 'GET', '/', { host: dev.host, cookie })).status).to.equal(401);
    });

    it('closes a subuser’s IDE socket (4403) when the owner takes the console permission away, leaving the owner’s and the subuser’s own IDE open', async () => {
      const host = await env.tk.user({ email: 'ide-share-owner@zpack.test' });
      const shared = await createDev(host, 'ide-share');
      const guest = await subuser(env.tk, host, shared.id, ['console']);
      const guestsOwn = await createDev(guest, 'ide-share-guest');
      const open = async (user: TestUser, dev: DevContainer) => {
        const { cookie } = await openIde(env, user, dev);
        const opened = await ws(dev.host, '/', { cookie, origin: `https://${dev.host}` });
        expect(opened.ws, JSON.stringify(opened.body)).to.not.equal(undefined);
        return opened.ws!;
      };
      const hostSocket = await open(host, shared);
      const guestSocket = await open(guest, shared);
      const guestOwnSocket = await open(guest, guestsOwn);
      const ended = closed(guestSocket);
      expect((await host.http.patch(`/api/servers/${shared.id}/subusers/${guest.subuserId}`, { permissions: [] })).status).to.equal(200);
      expect((await ended).code).to.equal(4403);
      await new Promise((r) => setTimeout(r, 300));
      expect(hostSocket.readyState, 'the owner’s IDE on the shared container').to.equal(WebSocket.OPEN);
      expect(guestOwnSocket.readyState, 'the subuser’s IDE on their own container').to.equal(WebSocket.OPEN);
      hostSocket.close();
      guestOwnSocket.close();
    });

    it('closes the socket and answers 402 once the account is suspended', async () => {
      const user = await env.tk.user({ email: 'ide-suspend@zpack.test' });
      const dev = await createDev(user, 'ide-suspend');
      const { cookie } = await openIde(env, user, dev);
      const opened = await ws(dev.host, '/', { cookie, origin: `https://${dev.host}` });
      const ended = closed(opened.ws!);
      billing.states.set(user.id, 'suspended');
      await env.tk.kernel.hooks.onBillingSuspend.promise({ id: user.id, email: user.email, role: 'user', billingExempt: false }, 'suspended');
      expect((await ended).code).to.equal(4402);
      const res = await httpTo(env, 'GET', '/', { host: dev.host, cookie });
      expect(res.status).to.equal(402);
      expect(JSON.parse(res.text).error.code).to.equal('billing_suspended');
      billing.states.delete(user.id);
    });

    it('closes the socket and answers 404 once the container is deleted', async () => {
      const dev = await createDev(owner, 'ide-delete');
      const { cookie } = await openIde(env, owner, dev);
      const opened = await ws(dev.host, '/', { cookie, origin: `https://${dev.host}` });
      const ended = closed(opened.ws!);
      const del = await owner.http.delete(`/api/servers/${dev.id}`);
      expect(del.status).to.equal(202);
      expect((await ended).code).to.equal(4410);
      expect((await settle(owner, del.body.operation.id)).state).to.equal('succeeded');
      expect((await httpTo(env, 'GET', '/', { host: dev.host, cookie })).status).to.equal(404);
    });
  });
});

describe('Hosted IDE: an expiring IDE session', () => {
  let env: DevEnv;
  let owner: TestUser;
  before(async function () {
    this.timeout(60_000);
    env = await startDevEnv({ ide: { secret: 'test-ide-secret-test-ide-secret', recheckMs: 0, cookieTtlSeconds: 2 } });
    owner = await env.tk.user({ email: 'ide-expiry@zpack.test' });
  });
  after(async () => {
    await env?.tk.stop();
    await env?.fleet.stop();
  });

  it('closes the open WebSocket when the IDE session expires, and then answers 401', async () => {
    const dev = await createDev(owner, 'ide-expiry');
    const { cookie } = await openIde(env, owner, dev);
    const opened = await connect(`ws://127.0.0.1:${env.port}/`, { host: dev.host, cookie, origin: `https://${dev.host}` });
    expect(opened.ws).to.be.instanceOf(WebSocket);
    const end = await closed(opened.ws!);
    expect(end.code).to.equal(4401);
    expect(end.ms).to.be.below(3000);
    expect((await httpTo(env, 'GET', '/', { host: dev.host, cookie })).status).to.equal(401);
  });
});

describe('Hosted IDE served over plain http (publicScheme: http, the embedded default)', () => {
  let env: DevEnv;
  let owner: TestUser;
  before(async function () {
    this.timeout(60_000);
    env = await startDevEnv({ publicScheme: 'http', publicPort: 3000 });
    owner = await env.tk.user({ email: 'ide-http@zpack.test' });
  });
  after(async () => {
    await env?.tk.stop();
    await env?.fleet.stop();
  });

  it('hands out an http URL on the public port and sets the cookie without Secure (a browser drops a Secure cookie on http)', async () => {
    const dev = await createDev(owner, 'ide-http');
    const { setCookie, url, cookie } = await openIde(env, owner, dev);
    expect(new URL(url).origin).to.equal(`http://${dev.host}:3000`);
    expect(setCookie).to.match(/^zpack_ide=[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
    expect((await httpTo(env, 'GET', '/', { host: dev.host, cookie })).status).to.equal(200);
  });
});

describe('Hosted IDE: passes reused between checks (recheckMs 60 s)', () => {
  let env: DevEnv;
  before(async function () {
    this.timeout(60_000);
    env = await startDevEnv({ ide: { secret: IDE_SECRET, recheckMs: 60_000 } });
  });
  after(async () => {
    await env?.tk.stop();
    await env?.fleet.stop();
  });

  const open = (dev: DevContainer, cookie: string) => connect(`ws://127.0.0.1:${env.port}/`, { host: dev.host, cookie, origin: `https://${dev.host}` });

  it('still sees a revoked session at once: the open socket closes (4401) and the next request is 401, not the reused pass', async () => {
    const user = await env.tk.user({ email: 'ide-cached-revoke@zpack.test' });
    const dev = await createDev(user, 'ide-cached-revoke');
    const { cookie } = await openIde(env, user, dev);
    expect((await httpTo(env, 'GET', '/', { host: dev.host, cookie })).status).to.equal(200);
    const opened = await open(dev, cookie);
    const ended = closed(opened.ws!);
    expect((await user.http.post('/api/auth/logout')).status).to.equal(204);
    expect((await ended).code).to.equal(4401);
    expect((await httpTo(env, 'GET', '/', { host: dev.host, cookie })).status).to.equal(401);
  });

  it('still sees a suspension and a deletion at once: 4402 then 402, 4410 then 404', async () => {
    const user = await env.tk.user({ email: 'ide-cached-suspend@zpack.test' });
    const dev = await createDev(user, 'ide-cached-suspend');
    const { cookie } = await openIde(env, user, dev);
    expect((await httpTo(env, 'GET', '/', { host: dev.host, cookie })).status).to.equal(200);
    const first = await open(dev, cookie);
    const suspended = closed(first.ws!);
    billing.states.set(user.id, 'suspended');
    await env.tk.kernel.hooks.onBillingSuspend.promise({ id: user.id, email: user.email, role: 'user', billingExempt: false }, 'suspended');
    expect((await suspended).code).to.equal(4402);
    expect((await httpTo(env, 'GET', '/', { host: dev.host, cookie })).status).to.equal(402);
    billing.states.delete(user.id);

    expect((await httpTo(env, 'GET', '/', { host: dev.host, cookie })).status).to.equal(200);
    const second = await open(dev, cookie);
    const deleted = closed(second.ws!);
    const del = await user.http.delete(`/api/servers/${dev.id}`);
    expect(del.status).to.equal(202);
    expect((await deleted).code).to.equal(4410);
    expect((await httpTo(env, 'GET', '/', { host: dev.host, cookie })).status).to.equal(404);
    expect((await settle(user, del.body.operation.id)).state).to.equal('succeeded');
  });
});
