import { expect } from 'chai';
import { PrivateRedis } from '../harness/redis-server';
import type { TestKernel } from '../harness';
import { create, settle, startFleet, startFleetKernel, type Fleet } from './fixture';

describe('A create accepted while Redis is down', () => {
  let fleet: Fleet;
  let redis: PrivateRedis;
  let tk: TestKernel;
  before(async () => {
    fleet = await startFleet();
    redis = await new PrivateRedis().start();
    tk = await startFleetKernel(fleet, {
      config: { redis: { url: redis.url }, provisioning: { sweepIntervalSeconds: 0.5, sweepAfterSeconds: 0.5 } },
    });
  });
  after(async () => {
    await tk?.stop();
    await redis?.stop();
    await fleet?.stop();
  });

  it('is stored as queued, and runs once Redis is back', async function () {
    this.timeout(60_000);
    const user = await tk.user();
    await redis.stop();
    const accepted = await create(user, 'during-outage');
    expect(accepted.status, JSON.stringify(accepted.body)).to.equal(202);
    const opId = accepted.body.operation.id;
    expect((await user.http.get(`/api/operations/${opId}`)).body.state).to.equal('queued');

    await redis.start();
    const op = await settle(user, opId, 45_000);
    expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
    expect(fleet.proxmox.containers().filter((c) => c.tags.includes(`op-${opId}`))).to.have.length(1);
  });
});
