import { expect } from 'chai';
import { startTestKernel, type TestKernel } from '../harness';

describe('HTTP envelope', () => {
  let tk: TestKernel;
  before(async () => { tk = await startTestKernel({ config: { server: { bodyLimitBytes: 4096 } } }); });
  after(async () => tk?.stop());

  const expectEnvelope = (res: any, status: number, code: string) => {
    expect(res.status).to.equal(status);
    expect(res.body.error.code).to.equal(code);
    expect(res.body.error.message).to.be.a('string').and.not.equal('');
    expect(res.body.error.requestId).to.equal(res.headers.get('x-request-id'));
  };

  it('answers bad JSON with 400 invalid_request', async () => {
    const res = await tk.http.request('POST', '/api/auth/login', { raw: '{"email": ', headers: { 'content-type': 'application/json' } });
    expectEnvelope(res, 400, 'invalid_request');
  });

  it('answers an oversized body with 413 without reading it whole', async () => {
    const res = await tk.http.request('POST', '/api/auth/login', { raw: JSON.stringify({ email: 'a@b.c', password: 'x'.repeat(10_000) }), headers: { 'content-type': 'application/json' } });
    expectEnvelope(res, 413, 'payload_too_large');
  });

  it('answers a wrong content type with 415', async () => {
    const res = await tk.http.request('POST', '/api/auth/login', { raw: 'email=a', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expectEnvelope(res, 415, 'unsupported_media_type');
  });

  it('answers an unknown route with 404 not_found', async () => {
    expectEnvelope(await tk.http.get('/api/does-not-exist'), 404, 'not_found');
  });

  it('answers a known path with a wrong method with 405', async () => {
    expectEnvelope(await tk.http.request('DELETE', '/api/auth/login'), 405, 'method_not_allowed');
  });

  it('keeps a sane incoming X-Request-Id and replaces a hostile one', async () => {
    const kept = await tk.http.get('/healthz', { headers: { 'x-request-id': 'portal-abc.123' } });
    expect(kept.headers.get('x-request-id')).to.equal('portal-abc.123');
    const replaced = await tk.http.get('/healthz', { headers: { 'x-request-id': 'bad id\twith spaces' } });
    expect(replaced.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
  });

  it('publishes OpenAPI generated from the route schemas', async () => {
    const res = await tk.http.get('/api/openapi.json');
    expect(res.status).to.equal(200);
    expect(res.body.openapi).to.equal('3.1.0');
    const login = res.body.paths['/api/auth/login'].post;
    expect(login.requestBody.content['application/json'].schema.properties).to.have.keys('email', 'password');
    expect(res.body.paths).to.have.property('/api/admin/users/{id}');
  });

  it('serves Prometheus metrics with HTTP histograms by route and queue gauges', async () => {
    await tk.http.get('/api/me');
    const res = await tk.http.get('/metrics');
    expect(res.status).to.equal(200);
    expect(res.text).to.match(/zpack_http_request_duration_seconds_count\{method="GET",route="\/api\/me",status="401"\} \d+/);
    expect(res.text).to.match(/zpack_queue_oldest_waiting_seconds\{queue="provisioning"\} 0/);
    expect(res.text).to.match(/zpack_queue_jobs\{queue="notifications",state="waiting"\} \d+/);
  });

  it('reports /healthz and /readyz', async () => {
    expect((await tk.http.get('/healthz')).body).to.deep.equal({ ok: true });
    const ready = await tk.http.get('/readyz');
    expect(ready.status).to.equal(200);
    expect(ready.body.checks).to.deep.equal({ postgres: 'ok', redis: 'ok' });
  });
});
