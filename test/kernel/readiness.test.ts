import { expect } from 'chai';
import { startTestKernel, type TestKernel } from '../harness';
import { PrivateRedis } from '../harness/redis-server';

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
