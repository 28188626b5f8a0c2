import { expect } from 'chai';
import { FencedError } from '../../kernel/api';
import { dropSchema } from '../../kernel/core/database';
import { startTestKernel, testConfig, type TestKernel } from '../harness';
import { latestFence, tallyPlugin } from '../fixtures/tally-plugin';

const LEASE_MS = 1500;
const until = async <T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> => {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 25))) {
    const found = await probe();
    if (found !== undefined) return found;
  }
  throw new Error(`timed out waiting for ${what}`);
};

describe('ctx.loop (leader-elected)', () => {
  const shared = testConfig();
  const kernels = new Map<string, TestKernel>();
  const start = async (label: string) => {
    const tk = await startTestKernel({
      plugins: [tallyPlugin], schema: shared.database.schema, prefix: shared.redis.prefix,
      config: { loops: { leaseMs: LEASE_MS }, database: { dropSchemaOnStop: false }, plugins: { tally: { enabled: true, options: { label } } } },
    });
    kernels.set(label, tk);
    return tk;
  };
  const ticks = async (tk: TestKernel, since = 0): Promise<Array<{ kernel: string; token: number }>> =>
    (await tk.kernel.ds.query(`SELECT kernel, token FROM tally_tick WHERE id > $1 ORDER BY id`, [since]))
      .map((r: { kernel: string; token: string }) => ({ kernel: r.kernel, token: Number(r.token) }));
  const lastId = async (tk: TestKernel): Promise<number> => Number((await tk.kernel.ds.query(`SELECT coalesce(max(id), 0) AS id FROM tally_tick`))[0].id);

  before(async () => {
    await start('a');
    await start('b');
  });
  after(async () => {
    for (const tk of kernels.values()) await tk.stop();
    await dropSchema(shared.database.url, shared.database.schema);
  });

  it('ticks on exactly one of two kernels', async () => {
    const a = kernels.get('a')!;
    const rows = await until('ten ticks', async () => {
      const r = await ticks(a);
      return r.length >= 10 ? r : undefined;
    });
    expect(new Set(rows.map((r) => r.kernel)).size, JSON.stringify(rows)).to.equal(1);
    expect(new Set(rows.map((r) => r.token)).size).to.equal(1);
  });

  it('refuses a write carrying the token of a deposed leader, once a newer term began', async () => {
    const a = kernels.get('a')!;
    const [{ kernel: leader, token: old }] = (await ticks(a)).slice(-1);
    const stale = latestFence.get(leader)!;
    expect(stale.value).to.equal(old);
    // The lease ran out while the leader was paused: it still holds its tick's fence.
    await a.kernel.redis.del(`${shared.redis.prefix}:loop:tally.count:lease`);
    const from = await lastId(a);
    const next = await until('a tick of a newer term', async () => (await ticks(a, from)).find((r) => r.token > old));
    const before = await lastId(a);

    const write = stale.transaction((m) => m.query(`INSERT INTO tally_tick (kernel, token) VALUES ('stale', $1)`, [stale.value]));
    const refused = await write.then(() => null, (err: unknown) => err);
    expect(refused).to.be.instanceOf(FencedError);
    expect((refused as FencedError).code).to.equal('fenced');
    expect(await stale.assertCurrent().then(() => null, (err: unknown) => err)).to.be.instanceOf(FencedError);
    const later = await ticks(a, before);
    expect(later.map((r) => r.kernel)).not.to.include('stale');
    expect(later.every((r) => r.token >= next.token)).to.equal(true);
  });

  it('is taken over by the other kernel within the lease after the leader is stopped', async () => {
    const any = kernels.get('a')!;
    const [{ kernel: leader, token: old }] = (await ticks(any)).slice(-1);
    const follower = leader === 'a' ? 'b' : 'a';
    const survivor = kernels.get(follower)!;
    const stopped = Date.now();
    await kernels.get(leader)!.stop();
    kernels.delete(leader);
    const from = await lastId(survivor);
    const first = await until('the survivor to tick', async () => (await ticks(survivor, from)).find((r) => r.kernel === follower && r.token > old));
    expect(Date.now() - stopped, 'taken over within one lease').to.be.lessThan(LEASE_MS);
    expect(first.token).to.be.greaterThan(old);
  });
});
