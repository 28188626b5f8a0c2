import { expect } from 'chai';
import type { ProvisionPlan } from '../../kernel/api';
import { startTestKernel, type TestKernel } from '../harness';
import { samplePlugin } from '../fixtures/sample-plugin';

const plan = (): ProvisionPlan => ({
  account: { id: 'a', email: 'a@x', role: 'user', billingExempt: false },
  kind: 'game', type: 'sample', name: 'n', options: {}, portNeeds: [], agentPayload: {},
});

const tableExists = async (tk: TestKernel, name: string): Promise<boolean> =>
  (await tk.kernel.ds.query(`SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2`, [tk.schema, name])).length > 0;

describe('A plugin through the whole contract', () => {
  describe('when enabled', () => {
    let tk: TestKernel;
    before(async () => {
      tk = await startTestKernel({ plugins: [samplePlugin], config: { plugins: { sample: { enabled: true, options: { memoryMb: 3072 } } } } });
    });
    after(async () => tk?.stop());

    it('adds its route, which stores through its entity and runs its job', async () => {
      const u = await tk.user();
      const created = await u.http.post('/api/sample/greetings', { name: 'Steve' });
      expect(created.status).to.equal(201);
      expect(created.body.greeting.text).to.equal('hello, Steve');
      let seen = false;
      for (let i = 0; i < 50 && !seen; i++) {
        seen = (await u.http.get(`/api/sample/greetings/${created.body.greeting.id}`)).body.greeting.seenByJob;
        if (!seen) await new Promise((r) => setTimeout(r, 100));
      }
      expect(seen, "the job ran on the plugin's own queue").to.equal(true);
    });

    it('ran its migration', async () => {
      expect(await tableExists(tk, 'sample_greeting')).to.equal(true);
    });

    it('taps beforeProvision with its validated options', async () => {
      expect((await tk.kernel.hooks.beforeProvision.promise(plan())).memoryMb).to.equal(3072);
    });

    it('validates its route input with the same schema OpenAPI shows', async () => {
      const u = await tk.user();
      const bad = await u.http.post('/api/sample/greetings', { name: '' });
      expect(bad.status).to.equal(400);
      const doc = (await tk.http.get('/api/openapi.json')).body;
      expect(doc.paths['/api/sample/greetings'].post.requestBody.content['application/json'].schema.properties.name.minLength).to.equal(1);
    });
  });

  describe('when disabled in config', () => {
    let tk: TestKernel;
    before(async () => {
      tk = await startTestKernel({ plugins: [samplePlugin], config: { plugins: { sample: { enabled: false } } } });
    });
    after(async () => tk?.stop());

    it('the kernel still boots and serves', async () => {
      expect((await tk.http.get('/readyz')).status).to.equal(200);
    });

    it('leaves no route, table, hook tap or job behind', async () => {
      const u = await tk.user();
      expect((await u.http.post('/api/sample/greetings', { name: 'Steve' })).status).to.equal(404);
      expect(await tableExists(tk, 'sample_greeting')).to.equal(false);
      expect(tk.kernel.hooks.beforeProvision.taps).to.have.length(0);
      expect(tk.kernel.queues.definedJobs()).not.to.include('sample.mark-seen');
      expect((await tk.http.get('/api/openapi.json')).body.paths).not.to.have.property('/api/sample/greetings');
    });
  });
});
