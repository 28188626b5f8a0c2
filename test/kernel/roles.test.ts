import { expect } from 'chai';
import { BootError, KernelQueue } from '../../kernel/api';
import { dropSchema } from '../../kernel/core/database';
import { RoleRegistry } from '../../kernel/core/roles';
import { startTestKernel, testConfig, type TestKernel } from '../harness';
import { samplePlugin } from '../fixtures/sample-plugin';

const sampleOn = { sample: { enabled: true } };

describe('Process roles', () => {
  describe('a plugin queue', () => {
    const shared = testConfig();
    const kernels: TestKernel[] = [];
    const start = async (role: string) => {
      const tk = await startTestKernel({
        plugins: [samplePlugin], schema: shared.database.schema, prefix: shared.redis.prefix,
        config: { role, database: { dropSchemaOnStop: false }, plugins: sampleOn },
      });
      kernels.push(tk);
      return tk;
    };
    after(async () => {
      for (const tk of kernels.reverse()) await tk.stop();
      await dropSchema(shared.database.url, shared.database.schema);
    });

    it('is named after its plugin, and worked by the plugin role, not by provision-worker', async () => {
      const api = await start('api');
      const provisionWorker = await start('provision-worker');
      const greetings = provisionWorker.kernel.queues.declaredQueues().find((q) => q.owner === 'sample')!;
      expect(greetings.name).to.equal('sample.greetings');

      const user = await api.user();
      const created = (await user.http.post('/api/sample/greetings', { name: 'Alex' })).body.greeting;
      const queue = api.kernel.queues.queue(greetings);
      expect(await queue.getWorkers(), 'nobody works sample.greetings').to.have.length(0);
      expect(await api.kernel.queues.queue(KernelQueue.provisioning).getWorkers()).to.have.length.greaterThan(0);
      expect(await queue.getJobCounts('waiting')).to.deep.equal({ waiting: 1 });

      await start('sample-worker');
      let seen = false;
      for (let i = 0; i < 100 && !seen; i++) {
        seen = (await user.http.get(`/api/sample/greetings/${created.id}`)).body.greeting.seenByJob;
        if (!seen) await new Promise((r) => setTimeout(r, 50));
      }
      expect(seen, 'the sample-worker role ran the job').to.equal(true);
    });

    it('shows in /api/admin/queues and /metrics beside the kernel queues', async () => {
      const admin = await kernels[0].user({ role: 'admin' });
      const names = (await admin.http.get('/api/admin/queues')).body.queues.map((q: { queue: string }) => q.queue);
      expect(names).to.have.members(['provisioning', 'repair', 'billing', 'notifications', 'kernel.schedules', 'sample.greetings']);
      expect((await kernels[0].http.get('/metrics')).text).to.match(/zpack_queue_jobs\{queue="sample\.greetings",state="waiting"\} 0/);
    });
  });

  it('refuses at boot a role no one registered, listing the registered ones', async () => {
    const err = await startTestKernel({ plugins: [samplePlugin], config: { role: 'sample-wroker', plugins: sampleOn } }).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(BootError);
    expect((err as BootError).code).to.equal('unknown_role');
    expect((err as BootError).message).to.match(/unknown role "sample-wroker".*registered roles: api, provision-worker, repair-worker, billing-worker, controller, simulators, all, schedule-worker, sample-worker/);
  });

  describe('RoleRegistry', () => {
    const queues = [KernelQueue.provisioning, KernelQueue.notifications, { name: 'sample.greetings', owner: 'sample' }];

    it('gives all every declared queue, HTTP and the loops; provision-worker only the kernel provisioning queue', () => {
      const roles = new RoleRegistry();
      expect(roles.plan('all', queues)).to.deep.equal({ name: 'all', http: true, loops: true, queues });
      expect(roles.plan('provision-worker', queues)).to.deep.equal({
        name: 'provision-worker', http: false, loops: false, queues: [KernelQueue.provisioning, KernelQueue.notifications],
      });
      expect(roles.plan('controller', queues)).to.include({ loops: true, http: false });
    });

    it('lets a plugin queue join a kernel role that it names in workedBy (a billing plugin\'s queue on billing-worker)', () => {
      const roles = new RoleRegistry();
      const billingQueue = { name: 'stripe.enforcement', owner: 'stripe' };
      expect(roles.plan('billing-worker', [...queues, billingQueue], [billingQueue]).queues).to.deep.equal([KernelQueue.billing, KernelQueue.notifications, billingQueue]);
      expect(roles.plan('repair-worker', [...queues, billingQueue]).queues).to.not.include(billingQueue);
    });

    it('refuses a role name already taken, naming who holds it', () => {
      const roles = new RoleRegistry();
      roles.define('billing', 'billing-runner', {});
      expect(() => roles.define('other', 'billing-runner', {})).to.throw(BootError, /taken by plugin "billing"/);
      expect(() => roles.define('other', 'api', {})).to.throw(BootError, /taken by the kernel/);
      expect(() => roles.define('other', 'migrate', {})).to.throw(BootError, /taken by the kernel/);
    });
  });
});
