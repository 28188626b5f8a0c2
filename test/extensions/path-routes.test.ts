import { expect } from 'chai';
import { z } from 'zod';
import { BootError, Tokens, definePlugin } from '../../kernel/api';
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
