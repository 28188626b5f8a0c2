import { expect } from 'chai';
import sinon from 'sinon';
import { startTestKernel, type TestKernel } from '../harness';

describe('Sessions and quotas cached across API processes', () => {
  let a: TestKernel;
  let b: TestKernel;
  before(async () => {
    a = await startTestKernel();
    b = await startTestKernel({ schema: a.schema, prefix: a.prefix, config: { database: { dropSchemaOnStop: false } } });
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('a logout on one process stops the token on another at once, even after it was cached there', async () => {
    const u = await a.user();
    const onB = b.http.as(u.accessToken);
    expect((await onB.get('/api/me')).status).to.equal(200);
    expect((await onB.get('/api/me')).status, 'served from the session cache').to.equal(200);
    expect((await u.http.post('/api/auth/logout')).status).to.equal(204);
    let status = 200;
    for (let i = 0; i < 20 && status === 200; i++) {
      status = (await onB.get('/api/me')).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 5));
    }
    expect(status).to.equal(401);
  });

  it('an admin role change is seen by every process', async () => {
    const u = await a.user();
    const admin = await a.user({ role: 'admin' });
    const onB = b.http.as(u.accessToken);
    expect((await onB.get('/api/admin/users')).status).to.equal(403);
    expect((await admin.http.patch(`/api/admin/users/${u.id}`, { role: 'admin' })).status).to.equal(200);
    let status = 403;
    for (let i = 0; i < 20 && status === 403; i++) {
      status = (await onB.get('/api/admin/users')).status;
      if (status === 403) await new Promise((r) => setTimeout(r, 5));
    }
    expect(status).to.equal(200);
  });

  it('a quota change made on one process shows in /api/me on another at once', async () => {
    const u = await a.user();
    const admin = await a.user({ role: 'admin' });
    const onB = b.http.as(u.accessToken);
    expect((await onB.get('/api/me')).body.quota.maxInstances).to.equal(3);
    expect((await onB.get('/api/me')).body.quota.maxInstances, 'served from the cache').to.equal(3);
    expect((await admin.http.patch(`/api/admin/users/${u.id}`, { maxInstances: 9 })).status).to.equal(200);
    let max = 3;
    for (let i = 0; i < 20 && max === 3; i++) {
      max = (await onB.get('/api/me')).body.quota.maxInstances;
      if (max === 3) await new Promise((r) => setTimeout(r, 5));
    }
    expect(max).to.equal(9);
  });

  it('asks the database once for a session that many requests present at once before it is cached', async () => {
    const u = await a.user();
    const lookups = sinon.spy(b.kernel.auth, 'liveSession');
    try {
      const onB = b.http.as(u.accessToken);
      const answers = await Promise.all(Array.from({ length: 20 }, () => onB.get('/api/me')));
      expect(answers.every((r) => r.status === 200)).to.equal(true);
      expect(lookups.callCount).to.equal(1);
    } finally {
      lookups.restore();
    }
  });
});
