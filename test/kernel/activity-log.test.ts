import { expect } from 'chai';
import sinon from 'sinon';
import { Tokens } from '../../kernel/api';
import type { ActivityEntry } from '../../kernel/api';
import type { KernelActivityLog } from '../../kernel/core/activity';
import { startTestKernel, type TestKernel } from '../harness';

describe('The activity log', () => {
  let tk: TestKernel;
  let log: KernelActivityLog;
  before(async () => {
    tk = await startTestKernel();
    log = tk.kernel.resolve(Tokens.Activity) as KernelActivityLog;
  });
  after(async () => { await tk?.stop(); });
  afterEach(() => sinon.restore());

  const instanceId = '00000000-0000-4000-8000-00000000a11c';
  const typed = (i: number): ActivityEntry => ({
    instanceId, event: 'console.command', actor: { type: 'user', id: '00000000-0000-4000-8000-0000000000aa' }, ip: '203.0.113.7', properties: { command: `say "${i}" \\ ok` },
  });
  const commands = async () => (await tk.kernel.ds.query(
    `SELECT properties->>'command' AS command FROM activity_event WHERE instance_id = $1 ORDER BY created_at, id`, [instanceId],
  ) as Array<{ command: string }>).map((r) => r.command);

  it('writes entries recorded together in one statement, in the order they were recorded, each promise resolving once stored', async () => {
    const query = sinon.spy(tk.kernel.ds, 'query');
    await Promise.all(Array.from({ length: 200 }, (_, i) => log.record(typed(i))));
    const inserts = query.getCalls().filter((c) => String(c.args[0]).startsWith('INSERT INTO activity_event'));
    expect(inserts).to.have.length(1);
    expect(await commands()).to.deep.equal(Array.from({ length: 200 }, (_, i) => `say "${i}" \\ ok`));
  });

  it('keeps recording what arrives while a write is under way, in the next statement', async () => {
    await tk.kernel.ds.query(`DELETE FROM activity_event WHERE instance_id = $1`, [instanceId]);
    const first = log.record(typed(0));
    await new Promise((r) => setImmediate(r));
    const later = [1, 2, 3].map((i) => log.record(typed(i)));
    await Promise.all([first, ...later]);
    await log.flushed();
    expect(await commands()).to.deep.equal([0, 1, 2, 3].map((i) => `say "${i}" \\ ok`));
  });

  it('rejects the entries of a batch the database refused, and records the next ones', async () => {
    const refused = log.record({ ...typed(9), instanceId: 'not-a-uuid' });
    const err = await refused.catch((e) => e);
    expect(err).to.be.instanceOf(Error);
    await log.record(typed(10));
    expect(await commands()).to.include('say "10" \\ ok');
  });
});
