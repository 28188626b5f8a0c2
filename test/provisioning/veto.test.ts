import { expect } from 'chai';
import { z } from 'zod';
import { VetoError, definePlugin } from '../../kernel/api';
import { startTestKernel, type TestKernel } from '../harness';
import { create, fleetConfig, fleetPlugins, startFleet, type Fleet } from './fixture';

const blocked = new Set<string>();
const gate = definePlugin({
  name: 'test-gate', version: '1.0.0', kernelApi: '2', config: z.object({}),
  register(ctx) {
    ctx.hooks.beforeProvision.tapPromise('test-gate', async (plan) => {
      if (blocked.has(plan.account.id)) throw new VetoError('billing_suspended', 'The account is suspended', 402);
      return plan;
    });
  },
});

describe('beforeProvision veto', () => {
  let fleet: Fleet;
  let tk: TestKernel;
  before(async () => {
    fleet = await startFleet();
    tk = await startTestKernel({ plugins: [...fleetPlugins, gate], config: fleetConfig(fleet, { plugins: { 'test-gate': { enabled: true } } }) });
  });
  after(async () => {
    await tk?.stop();
    await fleet?.stop();
  });

  it('answers with the veto’s status and code, naming hook and plugin, and stores nothing', async () => {
    const user = await tk.user();
    blocked.add(user.id);
    const res = await create(user, 'vetoed');
    expect(res.status).to.equal(402);
    expect(res.body.error).to.include({ code: 'billing_suspended' });
    expect(res.body.error.details).to.include({ hook: 'beforeProvision', plugin: 'test-gate' });
    const [{ n }] = await tk.kernel.ds.query(`SELECT count(*)::int AS n FROM provisioning_operation WHERE account_id = $1`, [user.id]);
    expect(n).to.equal(0);
    expect((await user.http.get('/api/servers')).body.servers).to.deep.equal([]);
    expect(fleet.proxmox.containers()).to.have.length(0);

    blocked.delete(user.id);
    expect((await create(user, 'vetoed')).status, 'the same key works once the veto is lifted').to.equal(202);
  });

  it('answers a request accepted before the veto with its operation again; a new key is refused', async () => {
    const user = await tk.user();
    const first = await create(user, 'before-veto');
    expect(first.status).to.equal(202);
    blocked.add(user.id);
    try {
      const again = await create(user, 'before-veto');
      expect(again.status).to.equal(202);
      expect(again.body.operation.id).to.equal(first.body.operation.id);
      expect((await create(user, 'after-veto')).status).to.equal(402);
      const [{ n }] = await tk.kernel.ds.query(`SELECT count(*)::int AS n FROM provisioning_operation WHERE account_id = $1`, [user.id]);
      expect(n).to.equal(1);
    } finally {
      blocked.delete(user.id);
    }
  });
});
