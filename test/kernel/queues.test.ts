import { expect } from 'chai';
import { Worker } from 'bullmq';
import { KernelQueue } from '../../kernel/api';
import { startTestKernel, type TestKernel } from '../harness';

describe('Queue staleness', () => {
  let tk: TestKernel;
  before(async () => { tk = await startTestKernel({ config: { role: 'api' } }); });
  after(async () => tk?.stop());

  it('reports depth and the age of the oldest waiting job per queue, in /api/admin/queues and /metrics', async () => {
    const repair = tk.kernel.queues.queue(KernelQueue.repair);
    // Enqueued 30 s ago, as far as the queue knows; the second job is fresh.
    await repair.add('probe', { n: 1 }, { timestamp: Date.now() - 30_000 });
    await repair.add('probe', { n: 2 });
    const admin = await tk.user({ role: 'admin' });
    const stats = (await admin.http.get('/api/admin/queues')).body.queues;
    const row = stats.find((s: any) => s.queue === 'repair');
    expect(row.waiting).to.equal(2);
    expect(row.oldestWaitingSeconds).to.be.within(30, 90);
    expect(stats.find((s: any) => s.queue === 'billing')).to.include({ waiting: 0, oldestWaitingSeconds: 0, active: 0, oldestActiveSeconds: 0 });
    const metrics = (await tk.http.get('/metrics')).text;
    expect(metrics).to.match(/zpack_queue_jobs\{queue="repair",state="waiting"\} 2/);
    const age = Number(/zpack_queue_oldest_waiting_seconds\{queue="repair"\} ([\d.]+)/.exec(metrics)![1]);
    expect(age).to.be.within(30, 90);
    expect(metrics).to.match(/zpack_queue_oldest_active_seconds\{queue="repair"\} 0/);
  });

  it('reports how long the longest-running active job of a queue has run', async () => {
    const billing = tk.kernel.queues.queue(KernelQueue.billing);
    await billing.add('probe', {});
    // Taken by hand, as a worker would: the job is active from now on.
    const connection = tk.kernel.redis.duplicate({ maxRetriesPerRequest: null });
    const worker = new Worker('billing', null, { connection, prefix: `${tk.prefix}:q`, autorun: false });
    try {
      expect(await worker.getNextJob('probe-token')).to.not.equal(undefined);
      await new Promise((r) => setTimeout(r, 1100));
      const admin = await tk.user({ role: 'admin' });
      const row = (await admin.http.get('/api/admin/queues')).body.queues.find((s: any) => s.queue === 'billing');
      expect(row.active).to.equal(1);
      expect(row.oldestActiveSeconds).to.be.within(1, 30);
    } finally {
      await worker.close(true);
      connection.disconnect();
    }
  });
});
