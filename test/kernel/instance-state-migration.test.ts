import { expect } from 'chai';
import { KernelInstanceState1700000006000 } from '../../kernel/core/migrations/1700000006000-kernel-instance-state';
import { startTestKernel, type TestKernel } from '../harness';

describe('Migration KernelInstanceState1700000006000', () => {
  let tk: TestKernel;
  const migration = new KernelInstanceState1700000006000();
  const run = async (step: 'up' | 'down') => {
    const runner = tk.kernel.ds.createQueryRunner();
    try {
      await migration[step](runner);
    } finally {
      await runner.release();
    }
  };

  before(async () => {
    tk = await startTestKernel();
  });
  after(async () => tk?.stop());

  it("moves the kernel's sections out of the plugin payload into columns (the crash time renamed crashedAt), derives the host, and trims checkpoints", async () => {
    await run('down');
    const owner = await tk.user();
    const crash = { id: 'c1', classification: 'oom', at: '2026-01-02T03:04:05.000Z' };
    const [{ id }] = await tk.kernel.ds.query(
      `INSERT INTO instance (owner_id, kind, type, name, state, address, payload) VALUES ($1, 'game', 'minecraft', 'old', 'crashed', 'http://10.0.0.7:7070', $2) RETURNING id`,
      [owner.id, JSON.stringify({ crash, supervisor: { consecutive: 2, nextRestartAt: null }, backup: { state: 'done', id: 'b1', at: 'x' }, edge: { published: true } })]);
    const [{ id: opId }] = await tk.kernel.ds.query(
      `INSERT INTO provisioning_operation (account_id, kind, state, instance_id, checkpoint, deadline_at) VALUES ($1, 'create', 'running', $2, $3, now()) RETURNING id`,
      [owner.id, id, JSON.stringify({ vmid: 5007, node: 'pve1', ports: [], containerCreated: true, address: 'http://10.0.0.7:7070' })]);
    await run('up');

    const [row] = await tk.kernel.ds.query(`SELECT host, payload, last_crash, supervisor, last_backup, last_restore FROM instance WHERE id = $1`, [id]);
    expect(row).to.deep.equal({
      host: '10.0.0.7', payload: { edge: { published: true } }, last_crash: { id: 'c1', classification: 'oom', crashedAt: '2026-01-02T03:04:05.000Z' },
      supervisor: { consecutive: 2, nextRestartAt: null }, last_backup: { state: 'done', id: 'b1', at: 'x' }, last_restore: null,
    });
    const [op] = await tk.kernel.ds.query(`SELECT checkpoint FROM provisioning_operation WHERE id = $1`, [opId]);
    expect(op.checkpoint).to.deep.equal({ allocated: true, containerCreated: true, located: true });
  });
});
