import { expect } from 'chai';
import { startTestKernel, type TestKernel } from '../harness';
import { PrivateRedis } from '../harness/redis-server';
import { samplePlugin } from '../fixtures/sample-plugin';

describe('GET /readyz', () => {
  let redis: PrivateRedis;
  let tk: TestKernel;

  before(async () => {
    redis = await new PrivateRedis().start();
    tk = await startTestKernel({ config: { redis: { url: redis.url } } });
  });
  after(async () => {
    await tk?.stop();
    await redis?.stop();
  });

  it('answers 200 while Postgres and Redis answer', async () => {
    const res = await tk.http.get('/readyz');
    expect(res.status).to.equal(200);
  });

  it('answers 503 naming Redis once Redis is stopped, within the probe deadline', async () => {
    await redis.stop();
    const started = Date.now();
    const res = await tk.http.get('/readyz');
    expect(res.status).to.equal(503);
    expect(res.body.error.code).to.equal('unavailable');
    expect(res.body.error.message).to.equal('redis unreachable');
    expect(res.body.error.details.checks).to.deep.equal({ postgres: 'ok', redis: 'down' });
    expect(Date.now() - started).to.be.lessThan(5000);
  });

  it('keeps /healthz alive while Redis is down', async () => {
    expect((await tk.http.get('/healthz')).status).to.equal(200);
  });
});

describe('GET /readyz with plugin health checks', () => {
  it('answers 200 listing a passing check by its plugin-qualified name', async () => {
    const tk = await startTestKernel({ plugins: [samplePlugin], config: { plugins: { sample: { enabled: true } } } });
    try {
      const res = await tk.http.get('/readyz');
      expect(res.status).to.equal(200);
      expect(res.body.checks).to.deep.equal({ postgres: 'ok', redis: 'ok', 'sample.upstream': 'ok' });
    } finally {
      await tk.stop();
    }
  });

  it('answers 503 naming a failing check', async () => {
    const tk = await startTestKernel({ plugins: [samplePlugin], config: { plugins: { sample: { enabled: true, options: { unhealthy: 'upstream refused' } } } } });
    try {
      const res = await tk.http.get('/readyz');
      expect(res.status).to.equal(503);
      expect(res.body.error.message).to.equal('sample.upstream unreachable');
      expect(res.body.error.details.checks).to.deep.equal({ postgres: 'ok', redis: 'ok', 'sample.upstream': 'down' });
    } finally {
      await tk.stop();
    }
  });
});
