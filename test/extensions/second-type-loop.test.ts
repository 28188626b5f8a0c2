import { expect } from 'chai';
import { FencedError } from '../../kernel/api';
import { dropSchema } from '../../kernel/core/database';
import { testConfig, type TestKernel } from '../harness';
import { latestFence } from '../fixtures/second-type';
import { create, settle, startFleet, startFleetKernel, waitFor, type Fleet } from '../provisioning/fixture';
import { beaconBody, beaconOptions, secondTypeConfig } from './second-type-config';

const LEASE_MS = 1500;

describe('The beacon type’s leader loop (ctx.loop) on two kernels', () => {
  const shared = testConfig();
  const kernels = new Map<string, TestKernel>();
  let fleet: Fleet;
  const start = async (label: string) => {
    const tk = await startFleetKernel(fleet, {
      schema: shared.database.schema, prefix: shared.redis.prefix,
      config: secondTypeConfig({ loops: { leaseMs: LEASE_MS }, database: { dropSchemaOnStop: false }, ...beaconOptions({ label, sweepMs: 50 }) }),
    });
    kernels.set(label, tk);
    return tk;
  };
  const sweeps = async (tk: TestKernel, since = 0): Promise<Array<{ kernel: string; token: number; lit: number }>> =>
    (await tk.kernel.ds.query(`SELECT kernel, token, lit FROM beacon_sweep WHERE id > $1 ORDER BY id`, [since]))
      .map((r: { kernel: string; token: string; lit: number }) => ({ kernel: r.kernel, token: Number(r.token), lit: r.lit }));
  const lastId = async (tk: TestKernel): Promise<number> => Number((await tk.kernel.ds.query(`SELECT coalesce(max(id), 0) AS id FROM beacon_sweep`))[0].id);

  before(async () => {
    fleet = await startFleet();
    await start('a');
    await start('b');
  });
  after(async () => {
    for (const tk of kernels.values()) await tk.stop();
    await fleet?.stop();
    await dropSchema(shared.database.url, shared.database.schema);
  });

  it('sweeps on exactly one of two kernels, counting the running beacons', async () => {
    const a = kernels.get('a')!;
    const user = await a.user();
    const op = await settle(user, (await create(user, 'loop-beacon', beaconBody('Swept'))).body.operation.id);
    expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
    const from = await lastId(a);
    const rows = await waitFor(async () => {
      const r = await sweeps(a, from);
      return r.length >= 10 ? r : undefined;
    }, 'ten sweeps');
    expect(new Set(rows.map((r) => r.kernel)).size, JSON.stringify(rows)).to.equal(1);
    expect(new Set(rows.map((r) => r.token)).size).to.equal(1);
    expect(rows.map((r) => r.lit)).to.include(1);
  });

  it('refuses a write carrying the token of a deposed leader, once a newer term began', async () => {
    const a = kernels.get('a')!;
    const [{ kernel: leader, token: old }] = (await sweeps(a)).slice(-1);
    const stale = latestFence.get(leader)!;
    expect(stale.value).to.equal(old);
    // The lease ran out while the leader was paused: it still holds its tick's fence.
    await a.kernel.redis.del(`${shared.redis.prefix}:loop:beacon.sweep:lease`);
    const from = await lastId(a);
    const next = await waitFor(async () => (await sweeps(a, from)).find((r) => r.token > old), 'a sweep of a newer term');
    const before = await lastId(a);

    const write = stale.transaction((m) => m.query(`INSERT INTO beacon_sweep (kernel, token, lit) VALUES ('stale', $1, 0)`, [stale.value]));
    const refused = await write.then(() => null, (err: unknown) => err);
    expect(refused).to.be.instanceOf(FencedError);
    expect((refused as FencedError).code).to.equal('fenced');
    expect(await stale.assertCurrent().then(() => null, (err: unknown) => err)).to.be.instanceOf(FencedError);
    const later = await sweeps(a, before);
    expect(later.map((r) => r.kernel)).not.to.include('stale');
    expect(later.every((r) => r.token >= next.token)).to.equal(true);
  });

  it('is taken over by the other kernel within the lease after the leader is stopped', async () => {
    const any = kernels.get('a')!;
    const [{ kernel: leader, token: old }] = (await sweeps(any)).slice(-1);
    const follower = leader === 'a' ? 'b' : 'a';
    const survivor = kernels.get(follower)!;
    const stopped = Date.now();
    await kernels.get(leader)!.stop();
    kernels.delete(leader);
    const from = await lastId(survivor);
    const first = await waitFor(async () => (await sweeps(survivor, from)).find((r) => r.kernel === follower && r.token > old), 'the survivor to sweep');
    expect(Date.now() - stopped, 'taken over within one lease').to.be.lessThan(LEASE_MS);
    expect(first.token).to.be.greaterThan(old);
  });
});
