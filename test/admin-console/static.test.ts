import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import Koa from 'koa';
import { adminConsole } from '../../kernel/core/http/admin-console';
import { useTestKernel } from '../harness';

describe('GET /admin (the operator console’s files)', () => {
  const env = useTestKernel();
  const get = (path: string, init: RequestInit = {}) => fetch(`${env.tk.url}${path}`, { redirect: 'manual', ...init });

  it('serves the built page with a strict content security policy, never cached', async () => {
    const res = await get('/admin/');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/html/);
    expect(res.headers.get('cache-control')).to.equal('no-cache');
    expect(res.headers.get('content-security-policy')).to.include("script-src 'self'").and.include("frame-ancestors 'none'");
    const html = await res.text();
    const script = /src="(\/admin\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script, html).to.be.a('string');
    const js = await get(script!);
    expect(js.status).to.equal(200);
    expect(js.headers.get('content-type')).to.match(/^text\/javascript/);
    expect(js.headers.get('cache-control')).to.include('immutable');
  });

  it('redirects /admin to /admin/', async () => {
    const res = await get('/admin');
    expect(res.status).to.equal(302);
    expect(res.headers.get('location')).to.equal('/admin/');
  });

  it('serves nothing outside its folder and nothing it does not have', async () => {
    for (const path of ['/admin/%2e%2e/%2e%2e/package.json', '/admin/..%2f..%2fpackage.json', '/admin/assets/missing.js', '/admin/%00', '/admin/%E0%A4%A']) {
      const res = await get(path);
      expect(res.status, path).to.equal(404);
    }
    expect((await get('/admin/', { method: 'POST' })).status).to.equal(404);
  });

  it('serves a page changed on disk at once (its files are held in memory), and HEAD with its length only', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'zpack-admin-'));
    mkdirSync(path.join(root, 'assets'));
    writeFileSync(path.join(root, 'index.html'), '<p>first build</p>');
    writeFileSync(path.join(root, 'assets', 'index-a1.js'), 'console.log(1)');
    const app = new Koa();
    app.use(adminConsole(root));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect(await (await fetch(`${base}/admin/`)).text()).to.equal('<p>first build</p>');
      writeFileSync(path.join(root, 'index.html'), '<p>the second build, longer</p>');
      expect(await (await fetch(`${base}/admin/`)).text()).to.equal('<p>the second build, longer</p>');
      expect(await (await fetch(`${base}/admin/assets/index-a1.js`)).text()).to.equal('console.log(1)');
      const head = await fetch(`${base}/admin/assets/index-a1.js`, { method: 'HEAD' });
      expect(head.headers.get('content-length')).to.equal('14');
      expect(await head.text()).to.equal('');
      rmSync(path.join(root, 'index.html'));
      expect((await fetch(`${base}/admin/`)).status).to.equal(404);
    } finally {
      server.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
