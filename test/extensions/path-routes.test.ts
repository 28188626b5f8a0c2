import { expect } from 'chai';
import { z } from 'zod';
import { request as httpRequest } from 'node:http';
import { BootError, Tokens, ZpackError, definePlugin } from '../../kernel/api';
import type { AccessEnded } from '../../kernel/api';
import { HostRoutes } from '../../kernel/core/http/host-routes';
import { startTestKernel, type TestKernel } from '../harness';

const heard: AccessEnded[] = [];

/** A plugin serving a raw path prefix, and listening to the kernel's ends of authority. */
const rawPlugin = definePlugin({
  name: 'raw-paths', version: '1.0.0', kernelApi: '2', config: z.object({}),
  register(ctx) {
    ctx.pathRoutes('/__raw', async ({ koa, params }) => {
      koa.status = 200;
      koa.body = { method: koa.method, rest: params.rest };
    });
    // Raw routes: the request body streamed back as it comes, and a host whose every path is the plugin's.
    ctx.rawRoutes({ prefix: '/__stream' }, async (request) => {
      request.writeHead(201, ['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'X-Rest', request.params.rest]);
      request.req.pipe(request.res);
    });
    ctx.rawRoutes({ host: /^raw-(?<n>\d+)\.zpack\.test$/ }, async ({ req, params }) => {
      throw new ZpackError('forbidden', 403, `raw host ${params.n} refuses ${req.method} ${req.url}`);
    });
  },
  async start(ctx) {
    ctx.resolve(Tokens.Sessions).onEnded((ended) => heard.push(ended));
  },
});

describe('ctx.pathRoutes and Tokens.Sessions', () => {
  let tk: TestKernel;
  before(async () => {
    tk = await startTestKernel({ plugins: [rawPlugin], config: { plugins: { 'raw-paths': { enabled: true } } } });
  });
  after(() => tk?.stop());

  const raw = async (method: string, path: string) => {
    const res = await fetch(`${tk.url}${path}`, { method });
    return { status: res.status, body: await res.json() };
  };

  it('serves every method under the prefix, with the rest of the path, outside the API document', async () => {
    expect(await raw('GET', '/__raw')).to.deep.equal({ status: 200, body: { method: 'GET', rest: '' } });
    expect(await raw('DELETE', '/__raw/a/b.js')).to.deep.equal({ status: 200, body: { method: 'DELETE', rest: '/a/b.js' } });
    expect((await raw('GET', '/__rawer')).status).to.equal(404);
    const doc = await tk.http.get('/api/openapi.json');
    expect(Object.keys(doc.body.paths).some((p) => p.startsWith('/__raw'))).to.equal(false);
  });

  /** A request with headers of our choosing (Host included). */
  const send = (method: string, path: string, headers: Record<string, string>, body?: string) => new Promise<{ status: number; headers: Record<string, unknown>; rawHeaders: string[]; text: string }>((resolve, reject) => {
    const url = new URL(tk.url);
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers, setHost: false, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, text }));
    });
    req.on('error', reject);
    req.end(body);
  });

  it('takes raw routes before koa: the body streamed as it is, repeated headers kept, the request id and nosniff added', async () => {
    const res = await send('POST', '/__stream/a/b?x=1', { host: 'localhost', 'x-request-id': 'raw-1', 'content-type': 'text/plain' }, 'streamed body');
    expect(res.status).to.equal(201);
    expect(res.text).to.equal('streamed body');
    expect(res.headers['x-request-id']).to.equal('raw-1');
    expect(res.headers['x-content-type-options']).to.equal('nosniff');
    expect(res.headers['x-rest']).to.equal('/a/b');
    expect(res.headers['set-cookie']).to.deep.equal(['a=1', 'b=2']);
  });

  it('answers a raw route’s thrown error with the envelope, and its host keeps every path, /api included', async () => {
    const res = await send('GET', '/api/me', { host: 'raw-7.zpack.test', 'x-request-id': 'raw-2' });
    expect(res.status).to.equal(403);
    expect(res.headers['content-type']).to.match(/^application\/json/);
    expect(JSON.parse(res.text)).to.deep.equal({ error: { code: 'forbidden', message: 'raw host 7 refuses GET /api/me', details: {}, requestId: 'raw-2' } });
    expect((await send('GET', '/__rawer', { host: 'localhost' })).status).to.equal(404);
  });

  it('refuses at boot a raw route with neither or both of host and prefix, and a host or prefix another route holds', () => {
    const routes = new HostRoutes();
    expect(() => routes.addRaw('p', {} as never, async () => undefined)).to.throw(BootError, /neither or both/);
    expect(() => routes.addRaw('p', { host: 'a.test', prefix: '/__a' } as never, async () => undefined)).to.throw(BootError, /neither or both/);
    routes.add('p', 'a.test', async () => undefined);
    expect(() => routes.addRaw('q', { host: 'a.test' }, async () => undefined)).to.throw(BootError, /both "p" and "q"/);
    routes.addRaw('p', { prefix: '/__a' }, async () => undefined);
    expect(() => routes.addPrefix('q', '/__a', async () => undefined)).to.throw(BootError, /both "p" and "q"/);
  });

  it('refuses at boot a prefix under /api, one that is not a plain path, and one declared twice', () => {
    const routes = new HostRoutes();
    expect(() => routes.addPrefix('p', '/api/x', async () => undefined)).to.throw(BootError);
    expect(() => routes.addPrefix('p', 'no-slash', async () => undefined)).to.throw(BootError);
    routes.addPrefix('p', '/__ide', async () => undefined);
    expect(() => routes.addPrefix('q', '/__ide', async () => undefined)).to.throw(BootError, /both "p" and "q"/);
  });

  it('tells plugins when a session ends, and answers live sessions from the database', async () => {
    const user = await tk.user({ email: 'sessions@zpack.test' });
    const [row] = await tk.kernel.ds.query(`SELECT id FROM session WHERE account_id = $1`, [user.id]);
    const sessions = tk.kernel.resolve(Tokens.Sessions);
    expect(await sessions.account(row.id, user.id)).to.include({ id: user.id, email: user.email });
    expect((await sessions.expiresAt(row.id))!.getTime()).to.be.greaterThan(Date.now());
    expect((await user.http.post('/api/auth/logout')).status).to.equal(204);
    for (let i = 0; i < 100 && !heard.some((h) => h.sessionId === row.id); i++) await new Promise((r) => setTimeout(r, 20));
    expect(heard.find((h) => h.sessionId === row.id)).to.include({ code: 4401 });
    expect(await sessions.account(row.id, user.id)).to.equal(undefined);
  });
});
