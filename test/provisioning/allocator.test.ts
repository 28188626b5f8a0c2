import { expect } from 'chai';
import { ConflictError } from '../../kernel/api';
import { Instance } from '../../kernel/core/entities';
import { allocate, markVmidForeign } from '../../kernel/core/operations/allocator';
import { startTestKernel, type TestKernel } from '../harness';

const VMIDS = { min: 100, max: 102 };
const PORTS = { min: 30000, max: 30009 };
const GAME = [{ name: 'game', protocol: 'tcp' as const }, { name: 'query', protocol: 'udp' as const }];

describe('VMID and port allocation', () => {
  let tk: TestKernel;
  before(async () => { tk = await startTestKernel(); });
  after(async () => { await tk?.stop(); });

  async function instance(): Promise<string> {
    const owner = await tk.user();
    const row = await tk.kernel.ds.getRepository(Instance).save({ ownerId: owner.id, kind: 'game', type: 'minecraft', name: 'x', state: 'provisioning', ports: [], payload: {} });
    return row.id;
  }
  const grant = (instanceId: string, vmids = VMIDS) => tk.kernel.ds.transaction((m) => allocate(m, instanceId, vmids, PORTS, GAME));

  it('grants the lowest free VMID and the lowest free port per need', async () => {
    const first = await grant(await instance());
    const second = await grant(await instance());
    expect(first).to.deep.equal({ vmid: 100, ports: [{ name: 'game', port: 30000, protocol: 'tcp' }, { name: 'query', port: 30001, protocol: 'udp' }] });
    expect(second).to.deep.equal({ vmid: 101, ports: [{ name: 'game', port: 30002, protocol: 'tcp' }, { name: 'query', port: 30003, protocol: 'udp' }] });
  });

  it('gives a re-run for the same instance what it already holds, and nothing more', async () => {
    const id = await instance();
    const once = await grant(id);
    expect(await grant(id)).to.deep.equal(once);
    const rows = await tk.kernel.ds.query(`SELECT count(*)::int AS n FROM port_allocation WHERE instance_id = $1`, [id]);
    expect(rows[0].n).to.equal(2);
  });

  it('skips a VMID marked foreign and answers ConflictError once the range is used up', async () => {
    await tk.kernel.ds.transaction((m) => markVmidForeign(m, 100));
    const err = await grant(await instance()).catch((e) => e);
    expect(err).to.be.instanceOf(ConflictError);
    expect(err.message).to.equal('No free VMID in the configured range');
    expect((await grant(await instance(), { min: 100, max: 103 })).vmid).to.equal(103);
  });
});
