import { expect } from 'chai';
import { Instance } from '../../kernel/core/entities';
import { OperationLease } from '../../kernel/core/operations/lease';
import { startTestKernel, type TestKernel } from '../harness';

describe('Operation lease: facts and checkpoints written only by the holder', () => {
  let tk: TestKernel;
  before(async () => { tk = await startTestKernel(); });
  after(async () => { await tk?.stop(); });

  async function queuedCreate(): Promise<{ opId: string; instanceId: string }> {
    const owner = await tk.user();
    const instance = await tk.kernel.ds.getRepository(Instance).save({ ownerId: owner.id, kind: 'game', type: 'minecraft', name: 'leased', state: 'provisioning', ports: [], payload: {} });
    const [{ id }] = await tk.kernel.ds.query(
      `INSERT INTO provisioning_operation (account_id, kind, state, phase, instance_id, deadline_at) VALUES ($1, 'create', 'queued', 'queued', $2, now() + interval '1 hour') RETURNING id`,
      [owner.id, instance.id]);
    return { opId: id, instanceId: instance.id };
  }
  const row = async (instanceId: string) => (await tk.kernel.ds.query(`SELECT vmid, node, ports, state FROM instance WHERE id = $1`, [instanceId]))[0];
  const op = async (opId: string) => (await tk.kernel.ds.query(`SELECT phase, checkpoint, lease_owner, attempts FROM provisioning_operation WHERE id = $1`, [opId]))[0];

  it('takes a fresh operation into its first phase and brings its instance row', async () => {
    const { opId, instanceId } = await queuedCreate();
    const leased = await new OperationLease(tk.kernel.ds, 'worker-a', 30).acquire(opId, false, 'allocate');
    expect(leased!.op).to.include({ id: opId, state: 'running', phase: 'allocate', leaseOwner: 'worker-a', attempts: 1 });
    expect(leased!.op.deadlineAt).to.be.instanceOf(Date);
    expect(leased!.instance).to.include({ id: instanceId, name: 'leased', state: 'provisioning' });
    expect(leased!.instance!.createdAt).to.be.instanceOf(Date);
    // A resumed run keeps the phase it was in.
    await tk.kernel.ds.query(`UPDATE provisioning_operation SET phase = 'wait_ready', lease_owner = NULL, lease_until = NULL WHERE id = $1`, [opId]);
    const resumed = await new OperationLease(tk.kernel.ds, 'worker-b', 30).acquire(opId, true, 'allocate');
    expect(resumed!.op).to.include({ phase: 'wait_ready', attempts: 1 });
  });

  it('writes phase, checkpoint and instance facts in one statement while the lease is held, and nothing once it is lost', async () => {
    const { opId, instanceId } = await queuedCreate();
    const a = new OperationLease(tk.kernel.ds, 'worker-a', 30);
    const b = new OperationLease(tk.kernel.ds, 'worker-b', 30);
    await a.acquire(opId, false, 'allocate');

    const ports = [{ name: 'game', port: 25565, protocol: 'tcp' as const }];
    expect(await b.renew(opId, 'create_container', { allocated: true }, { vmid: 7001, node: 'pve9' }), 'not the holder').to.equal(false);
    expect(await row(instanceId)).to.include({ vmid: null, node: null });
    expect(await a.renew(opId, 'create_container', { allocated: true }, { vmid: 7000, node: 'pve1', ports })).to.equal(true);
    expect(await row(instanceId)).to.deep.include({ vmid: 7000, node: 'pve1', ports });
    expect(await op(opId)).to.deep.include({ phase: 'create_container', checkpoint: { allocated: true } });

    // A's lease runs out; B adopts; A's late writes are refused, facts included.
    await tk.kernel.ds.query(`UPDATE provisioning_operation SET lease_until = now() - interval '1 second' WHERE id = $1`, [opId]);
    expect(await b.acquire(opId)).to.not.equal(null);
    expect(await a.renew(opId, 'start', { allocated: true, containerCreated: true }, { state: 'running' })).to.equal(false);
    expect(await row(instanceId)).to.include({ state: 'provisioning', vmid: 7000 });
    expect(await op(opId)).to.deep.include({ phase: 'create_container', checkpoint: { allocated: true }, lease_owner: 'worker-b', attempts: 2 });
  });

  it('finishes with the owner\'s email and lets go of the operation', async () => {
    const { opId } = await queuedCreate();
    const lease = new OperationLease(tk.kernel.ds, 'worker-a', 30);
    await lease.acquire(opId);
    const { ownerEmail } = await lease.finish(opId, 'succeeded', 'done', { ready: true }, null);
    const [{ email }] = await tk.kernel.ds.query(`SELECT a.email FROM account a JOIN provisioning_operation o ON o.account_id = a.id WHERE o.id = $1`, [opId]);
    expect(ownerEmail).to.equal(email);
    expect(await op(opId)).to.deep.include({ phase: 'done', checkpoint: { ready: true }, lease_owner: null });
  });
});
