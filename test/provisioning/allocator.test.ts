import { expect } from 'chai';
import { ConflictError } from '../../kernel/api';
import { Instance } from '../../kernel/core/entities';
import { allocate, markVmidForeign, release } from '../../kernel/core/operations/allocator';
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

  describe('the lowest free value, found from a hint', () => {
    const V = { min: 200, max: 299 };
    const P = { min: 31000, max: 31999 };
    const ONE = [{ name: 'game', protocol: 'tcp' as const }];
    const take = (instanceId: string, vmids = V, ports = P) => tk.kernel.ds.transaction((m) => allocate(m, instanceId, vmids, ports, ONE));
    const hint = async (kind: string, min: number) => (await tk.kernel.ds.query(`SELECT low FROM allocation_hint WHERE kind = $1 AND range_min = $2`, [kind, min]))[0]?.low as number | undefined;

    it('moves past each grant, and back to a value released below it, which the next grant reuses', async () => {
      const ids = [await instance(), await instance(), await instance()];
      const granted = [];
      for (const id of ids) granted.push(await take(id));
      expect(granted.map((g) => g.vmid)).to.deep.equal([200, 201, 202]);
      expect(granted.map((g) => g.ports[0].port)).to.deep.equal([31000, 31001, 31002]);
      expect(await hint('vmid', 200)).to.equal(203);
      await tk.kernel.ds.transaction((m) => release(m, ids[1]));
      expect(await hint('vmid', 200)).to.equal(201);
      expect(await hint('port', 31000)).to.equal(31001);
      const again = await take(await instance());
      expect(again).to.deep.equal({ vmid: 201, ports: [{ name: 'game', port: 31001, protocol: 'tcp' }] });
      // Past the refilled gap, the dense run is walked to its end in one step.
      expect((await take(await instance())).vmid).to.equal(203);
      expect(await hint('vmid', 200)).to.equal(204);
    });

    it('never trusts a hint that is too high: a free value below it is still granted before the range is called used up', async () => {
      const freed = await instance();
      const vmid = (await take(freed)).vmid;
      await tk.kernel.ds.transaction((m) => release(m, freed));
      // As if the release's lowering had been lost: the hint says everything up to the range end is taken.
      await tk.kernel.ds.query(`UPDATE allocation_hint SET low = 300 WHERE kind = 'vmid' AND range_min = 200`);
      expect((await take(await instance())).vmid).to.equal(vmid);
      expect(await hint('vmid', 200)).to.equal(vmid + 1);
    });

    it('starts again from the range start once the allocations are emptied, and keeps one hint per range start', async () => {
      const id = await instance();
      expect((await take(id, { min: 400, max: 409 }, { min: 32000, max: 32009 })).vmid).to.equal(400);
      expect(await hint('vmid', 400)).to.equal(401);
      expect(await hint('vmid', 200)).to.be.a('number');
      await tk.kernel.ds.query(`TRUNCATE port_allocation, vmid_allocation`);
      expect(await tk.kernel.ds.query(`SELECT * FROM allocation_hint`)).to.deep.equal([]);
      expect(await take(await instance(), { min: 400, max: 409 }, { min: 32000, max: 32009 })).to.deep.equal({ vmid: 400, ports: [{ name: 'game', port: 32000, protocol: 'tcp' }] });
    });
  });
});
