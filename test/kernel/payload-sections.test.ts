import { expect } from 'chai';
import { z } from 'zod';
import { SectionNotOwnedError, Tokens, definePlugin } from '../../kernel/api';
import type { InstanceDirectory } from '../../kernel/api';
import { startTestKernel, type TestKernel } from '../harness';

/** The directory each test plugin resolved for itself, by plugin name. */
const resolved = new Map<string, InstanceDirectory>();
const annotator = (name: string) => definePlugin({
  name,
  version: '1.0.0',
  kernelApi: '2',
  description: `writes the ${name} section`,
  config: z.object({}),
  register() {},
  async start(ctx) {
    resolved.set(name, ctx.resolve(Tokens.Instances));
  },
});

describe('InstanceDirectory.patchSection', () => {
  let tk: TestKernel;
  let instanceId: string;
  const payload = async () => (await tk.kernel.ds.query(`SELECT payload FROM instance WHERE id = $1`, [instanceId]))[0].payload;

  before(async () => {
    tk = await startTestKernel({
      plugins: [annotator('alpha'), annotator('beta')],
      config: { plugins: { alpha: { enabled: true, options: {} }, beta: { enabled: true, options: {} } } },
    });
    const owner = await tk.user();
    [{ id: instanceId }] = await tk.kernel.ds.query(
      `INSERT INTO instance (owner_id, kind, type, name, state) VALUES ($1, 'game', 'sample', 'annotated', 'running') RETURNING id`, [owner.id]);
  });
  after(async () => tk?.stop());

  it("merges a plugin's write into the section named after it, leaving the others alone", async () => {
    await resolved.get('alpha')!.patchSection(instanceId, 'alpha', { state: 'one', n: 1 });
    await resolved.get('beta')!.patchSection(instanceId, 'beta', { state: 'b' });
    await resolved.get('alpha')!.patchSection(instanceId, 'alpha', { state: 'two' });
    expect(await payload()).to.deep.equal({ alpha: { state: 'two', n: 1 }, beta: { state: 'b' } });
  });

  it("refuses a plugin's write to another plugin's section with section_not_owned, writing nothing", async () => {
    const before = await payload();
    const err = await resolved.get('alpha')!.patchSection(instanceId, 'beta', { state: 'hijacked' }).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(SectionNotOwnedError);
    expect(err).to.deep.include({ code: 'section_not_owned' });
    expect((err as SectionNotOwnedError).details).to.deep.equal({ plugin: 'alpha', section: 'beta' });
    expect(await payload()).to.deep.equal(before);
  });

  it('refuses a write to a kernel section (crash, supervisor, backup, restore) from any plugin', async () => {
    for (const section of ['crash', 'supervisor', 'backup', 'restore']) {
      const err = await resolved.get('beta')!.patchSection(instanceId, section, { id: 'forged' }).then(() => null, (e: unknown) => e);
      expect(err, section).to.be.instanceOf(SectionNotOwnedError);
    }
    const [row] = await tk.kernel.ds.query(`SELECT last_crash, supervisor, last_backup, last_restore FROM instance WHERE id = $1`, [instanceId]);
    expect(row).to.deep.equal({ last_crash: null, supervisor: null, last_backup: null, last_restore: null });
  });

  it('writes no section at all through the directory resolved from the kernel itself', async () => {
    const err = await tk.kernel.resolve(Tokens.Instances).patchSection(instanceId, 'alpha', { state: 'kernel' }).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(SectionNotOwnedError);
    expect((await payload()).alpha).to.deep.equal({ state: 'two', n: 1 });
  });
});
