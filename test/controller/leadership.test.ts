import { expect } from 'chai';
import { z } from 'zod';
import { FencedError, KernelQueue, Notifier, definePlugin } from '../../kernel/api';
import { dropSchema } from '../../kernel/core/database';
import { startTestKernel, testConfig, type TestKernel } from '../harness';
import { waitFor } from '../provisioning/fixture';
import { OpsChannel } from './fixture';

const LEASE_MS = 1500;
const LOOP = 'kernel.controller';

describe('The controller is elected: three controllers, one leader, fenced', () => {
  const shared = testConfig();
  const kernels = new Map<string, TestKernel>();
  const start = async (label: string) => {
    const tk = await startTestKernel({
      schema: shared.database.schema, prefix: shared.redis.prefix,
      config: { role: 'controller', loops: { leaseMs: LEASE_MS }, controller: { enabled: true, intervalSeconds: 0.1 }, database: { dropSchemaOnStop: false } },
    });
    kernels.set(label, tk);
  };
  const leaders = () => [...kernels].filter(([, tk]) => tk.kernel.extensions.loops.leading().includes(LOOP)).map(([label]) => label);

  before(async function () {
    this.timeout(60_000);
    for (const label of ['a', 'b', 'c']) await start(label);
  });
  after(async () => {
    for (const tk of kernels.values()) await tk.stop();
    await dropSchema(shared.database.url, shared.database.schema);
  });

  it('has exactly one leader, and only the leader passes', async () => {
    const [leader] = await waitFor(() => (leaders().length ? leaders() : undefined), 'a leader');
    const before = new Map([...kernels].map(([label, tk]) => [label, tk.kernel.controller.passes]));
    await waitFor(() => kernels.get(leader)!.kernel.controller.passes >= before.get(leader)! + 5, 'five passes of the leader');
    expect(leaders()).to.deep.equal([leader]);
    for (const [label, tk] of kernels) if (label !== leader) expect(tk.kernel.controller.passes, `${label} passed`).to.equal(before.get(label));
  });

  it('refuses the writes of a deposed leader once another term began', async () => {
    const [leader] = leaders();
    const old = kernels.get(leader)!.kernel.controller.lastFence!;
    // The leader was paused past its lease: the lease is gone while it still holds its fence.
    await kernels.get(leader)!.kernel.redis.del(`${shared.redis.prefix}:loop:${LOOP}:lease`);
    await waitFor(() => [...kernels.values()].some((tk) => (tk.kernel.controller.lastFence?.value ?? 0) > old.value), 'a pass of a newer term');
    const since = new Date();
    const refused = await kernels.get(leader)!.kernel.controller.reconciler.pass(new AbortController().signal, old).then(() => null, (err: unknown) => err);
    expect(refused).to.be.instanceOf(FencedError);
    const [{ n }] = await kernels.get(leader)!.kernel.ds.query(
      `SELECT count(*)::int AS n FROM repair_event WHERE fencing_token = $1 AND updated_at >= $2`, [old.value, since]);
    expect(n).to.equal(0);
    expect(await old.assertCurrent().then(() => null, (err: unknown) => err)).to.be.instanceOf(FencedError);
  });

  it('is taken over by another controller within the lease once the leader stops', async () => {
    const [leader] = await waitFor(() => (leaders().length ? leaders() : undefined), 'a leader');
    const stopped = Date.now();
    await kernels.get(leader)!.stop();
    kernels.delete(leader);
    const [next] = await waitFor(() => (leaders().length ? leaders() : undefined), 'a new leader', LEASE_MS * 3);
    expect(Date.now() - stopped, 'taken over within one lease').to.be.lessThan(LEASE_MS);
    expect(next).to.not.equal(leader);
  });
});

describe('Queue staleness alerts', () => {
  const ops = new OpsChannel();
  // A controller that delivers its own notices, and works no other queue: a billing job it adds stays waiting.
  const watchtower = definePlugin({
    name: 'watchtower', version: '1.0.0', kernelApi: '2', config: z.object({}),
    register(ctx) {
      ctx.provide(Notifier, () => ops);
      ctx.roles.define('watchtower', { loops: true, queues: [KernelQueue.notifications] });
    },
  });
  let tk: TestKernel;
  before(async () => {
    tk = await startTestKernel({
      plugins: [watchtower],
      config: {
        role: 'watchtower', controller: { enabled: true, intervalSeconds: 0.1, queueAlerts: { waitingSeconds: 300, cooldownSeconds: 3600 } },
        plugins: { watchtower: { enabled: true, options: {} } },
      },
    });
  });
  after(async () => tk?.stop());

  it('sends one ops alert for a queue whose oldest job has waited 10 minutes, not one per pass', async () => {
    await tk.kernel.queues.queue(KernelQueue.billing).add('billing.probe', {}, { timestamp: Date.now() - 10 * 60_000 });
    const stats = (await tk.kernel.queues.stats()).find((s) => s.queue === 'billing')!;
    expect(stats.oldestWaitingSeconds).to.be.within(600, 660);
    const alert = await waitFor(() => ops.messages.find((m) => m.template === 'queue_stale'), 'the queue alert');
    expect(alert).to.include({ to: 'ops' });
    expect(alert.data).to.include({ queue: 'billing', waiting: 1 });
    const passes = tk.kernel.controller.passes;
    await waitFor(() => tk.kernel.controller.passes >= passes + 10, 'ten more passes');
    expect(ops.messages.filter((m) => m.template === 'queue_stale')).to.have.length(1);
  });
});
