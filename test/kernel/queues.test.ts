import { expect } from 'chai';
import { startTestKernel, type TestKernel } from '../harness';

describe('Queue staleness', () => {
  let tk: TestKernel;
  before(async () => { tk = await startTestKernel({ config: { role: 'api' } }); });
  after(async () => tk?.stop());

  it('reports depth and the age of the oldest waiting job per queue, in /api/admin/queues and /metrics', async () => {
    const repair = tk.kernel.queues.queue('repair');
    await repair.add('probe', { n: 1 });
    await new Promise((r) => setTimeout(r, 1200));
    await repair.add('probe', { n: 2 });
    const admin = await tk.user({ role: 'admin' });
    const stats = (await admin.http.get('/api/admin/queues')).body.queues;
    const row = stats.find((s: any) => s.queue === 'repair');
    expect(row.waiting).to.equal(2);
    expect(row.oldestWaitingSeconds).to.be.within(1.1, 10);
    expect(stats.find((s: any) => s.queue === 'billing')).to.include({ waiting: 0, oldestWaitingSeconds: 0 });
    const metrics = (await tk.http.get('/metrics')).text;
    expect(metrics).to.match(/zpack_queue_jobs\{queue="repair",state="waiting"\} 2/);
    const age = Number(/zpack_queue_oldest_waiting_seconds\{queue="repair"\} ([\d.]+)/.exec(metrics)![1]);
    expect(age).to.be.greaterThan(1.1);
  });
});
