import { expect } from 'chai';
import { startTestKernel, type TestKernel } from '../harness';

const daysAgo = (days: number) => new Date(Date.now() - days * 24 * 3600 * 1000);

describe('Retention', () => {
  let tk: TestKernel;
  before(async () => {
    // A first run prunes nothing; the rows below are written before the next one.
    tk = await startTestKernel({ config: { retention: { intervalSeconds: 1 } } });
  });
  after(async () => {
    await tk?.stop();
  });

  const exists = async (table: string, id: string) =>
    (await tk.kernel.ds.query(`SELECT 1 FROM ${table} WHERE id = $1`, [id])).length === 1;

  async function instance(ownerId: string, deletedAt: Date | null): Promise<string> {
    const [row] = await tk.kernel.ds.query(
      `INSERT INTO instance (owner_id, kind, type, name, state, deleted_at) VALUES ($1, 'game', 'minecraft', 'x', $2, $3) RETURNING id`,
      [ownerId, deletedAt ? 'deleted' : 'running', deletedAt]);
    return row.id;
  }
  async function operation(accountId: string, instanceId: string, state: string, at: Date): Promise<string> {
    const [row] = await tk.kernel.ds.query(
      `INSERT INTO provisioning_operation (account_id, kind, state, instance_id, deadline_at, created_at, updated_at)
       VALUES ($1, 'delete', $2, $3, $4, $4, $4) RETURNING id`, [accountId, state, instanceId, at]);
    return row.id;
  }
  async function crash(instanceId: string, at: Date): Promise<string> {
    const [row] = await tk.kernel.ds.query(
      `INSERT INTO crash_report (instance_id, at, uptime_seconds, classification, supervisor_action, created_at)
       VALUES ($1, $2, 1, 'unknown', 'none', $2) RETURNING id`, [instanceId, at]);
    return row.id;
  }
  async function notification(state: string, at: Date): Promise<string> {
    const [row] = await tk.kernel.ds.query(
      `INSERT INTO notification (channel, recipient, template, subject, body, state, created_at, updated_at)
       VALUES ('email', 'a@example.test', 't', 's', 'b', $1, $2, $2) RETURNING id`, [state, at]);
    return row.id;
  }
  const pruned = async (table: string) => {
    const text: string = (await tk.http.get('/metrics')).text;
    const line = text.split('\n').find((l) => l.startsWith(`zpack_retention_pruned_rows_total{table="${table}"}`));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  it('prunes old finished operations, deleted instances, crash reports and sent notifications; keeps recent rows and audit events', async function () {
    this.timeout(20_000);
    const user = await tk.user();
    const before = { instance: await pruned('instance'), operation: await pruned('provisioning_operation') };

    const longGone = await instance(user.id, daysAgo(40));
    const longGoneOp = await operation(user.id, longGone, 'succeeded', daysAgo(40));
    const longGoneCrash = await crash(longGone, daysAgo(39));
    const recentlyGone = await instance(user.id, daysAgo(2));
    const recentOp = await operation(user.id, recentlyGone, 'failed', daysAgo(2));
    const live = await instance(user.id, null);
    const oldCrash = await crash(live, daysAgo(45));
    const recentCrash = await crash(live, daysAgo(1));
    const unfinished = await operation(user.id, live, 'running', daysAgo(40));
    const oldSent = await notification('sent', daysAgo(20));
    const recentSent = await notification('sent', daysAgo(1));
    const oldPending = await notification('pending', daysAgo(20));
    const [audit] = await tk.kernel.ds.query(
      `INSERT INTO audit_event (action, target, created_at) VALUES ('instance.delete', $1, $2) RETURNING id`, [longGone, daysAgo(400)]);

    const deadline = Date.now() + 15_000;
    while (await exists('instance', longGone)) {
      if (Date.now() > deadline) throw new Error('the retention job did not prune the old instance');
      await new Promise((r) => setTimeout(r, 100));
    }

    for (const [table, id] of [['provisioning_operation', longGoneOp], ['crash_report', longGoneCrash], ['crash_report', oldCrash], ['notification', oldSent]]) {
      expect(await exists(table, id), `${table} ${id} pruned`).to.equal(false);
    }
    for (const [table, id] of [
      ['instance', recentlyGone], ['instance', live], ['provisioning_operation', recentOp], ['provisioning_operation', unfinished],
      ['crash_report', recentCrash], ['notification', recentSent], ['notification', oldPending], ['audit_event', audit.id],
    ]) {
      expect(await exists(table, id), `${table} ${id} kept`).to.equal(true);
    }
    expect(await pruned('instance')).to.be.at.least(before.instance + 1);
    expect(await pruned('provisioning_operation')).to.be.at.least(before.operation + 1);
  });

  it('keeps a deleted instance that an unfinished operation still references', async () => {
    const user = await tk.user();
    const gone = await instance(user.id, daysAgo(40));
    await operation(user.id, gone, 'running', daysAgo(40));
    const marker = await instance(user.id, daysAgo(40));
    const deadline = Date.now() + 15_000;
    while (await exists('instance', marker)) {
      if (Date.now() > deadline) throw new Error('the retention job did not run');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await exists('instance', gone)).to.equal(true);
  });
});
