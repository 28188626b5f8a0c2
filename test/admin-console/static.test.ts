import { expect } from 'chai';
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
});
