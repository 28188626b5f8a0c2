import { expect } from 'chai';
import type { SimulatedContainer } from '../../plugins/proxmox/testing/simulator';
import { create, gameBody, settle, useFleetKernel } from './fixture';

const stranger = (vmid: number): SimulatedContainer => ({
  vmid, node: 'pve1', hostname: `someone-${vmid}`, memory: 512, cores: 1, rootfs: 'local-lvm:4',
  net0: 'name=eth0,bridge=vmbr0,ip=dhcp', tags: ['backup'], status: 'running',
});

describe('A hosting provider with its own managed tag (proxmox managedTag "other")', () => {
  const env = useFleetKernel({ plugins: { proxmox: { options: { managedTag: 'other' } } } });

  it('creates a server whose container carries that tag, and destroys it on delete', async () => {
    const user = await env.tk.user();
    const op = await settle(user, (await create(user, 'tagged-other', gameBody('Other'))).body.operation.id);
    expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
    const [container] = env.fleet.proxmox.containers();
    expect(container.tags).to.deep.equal(['other', `op-${op.id}`]);

    const deleted = await settle(user, (await user.http.delete(`/api/servers/${op.instanceId}`)).body.operation.id);
    expect(deleted.state, JSON.stringify(deleted.error)).to.equal('succeeded');
    expect(deleted.report.find((s: any) => s.step === 'destroy')).to.include({ outcome: 'done' });
    expect(env.fleet.proxmox.containers()).to.deep.equal([]);
  });
});

describe('A create whose VMID a stranger holds', () => {
  const env = useFleetKernel();

  it('moves to a fresh VMID, marks the taken ones foreign and leaves the stranger alone', async () => {
    env.fleet.proxmox.addContainer(stranger(5000));
    env.fleet.proxmox.addContainer(stranger(5001));
    const user = await env.tk.user();
    const op = await settle(user, (await create(user, 'taken-vmid', gameBody('Taken'))).body.operation.id);
    expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
    const server = (await user.http.get(`/api/servers/${op.instanceId}`)).body.server;
    expect(server.vmid).to.equal(5002);

    const strangers = env.fleet.proxmox.containers().filter((c) => c.vmid < 5002);
    expect(strangers.map((c) => [c.vmid, c.status, c.tags])).to.deep.equal([[5000, 'running', ['backup']], [5001, 'running', ['backup']]]);
    const held = await env.tk.kernel.ds.query(`SELECT vmid, instance_id, reason FROM vmid_allocation ORDER BY vmid`);
    expect(held).to.deep.equal([
      { vmid: 5000, instance_id: null, reason: 'foreign' },
      { vmid: 5001, instance_id: null, reason: 'foreign' },
      { vmid: 5002, instance_id: op.instanceId, reason: 'instance' },
    ]);
  });
});

describe('A cluster whose VMID range is crowded with containers that are not ours', () => {
  const env = useFleetKernel();

  it('reserves every stranger the hosts list at the first collision, so a create needs no more tries than that one', async () => {
    // More strangers in a row than a create retries on a taken VMID one at a time.
    for (let vmid = 5000; vmid <= 5005; vmid++) env.fleet.proxmox.addContainer(stranger(vmid));
    env.fleet.proxmox.addContainer(stranger(99_000));
    const user = await env.tk.user();
    const op = await settle(user, (await create(user, 'crowded', gameBody('Crowded'))).body.operation.id);
    expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
    expect((await user.http.get(`/api/servers/${op.instanceId}`)).body.server.vmid).to.equal(5006);

    const held = await env.tk.kernel.ds.query(`SELECT vmid, reason FROM vmid_allocation WHERE instance_id IS NULL ORDER BY vmid`);
    // Reserved within the configured range only; the strangers themselves are left alone.
    expect(held.map((r: { vmid: number }) => r.vmid)).to.deep.equal([5000, 5001, 5002, 5003, 5004, 5005]);
    expect(held.every((r: { reason: string }) => r.reason === 'foreign')).to.equal(true);
    const strangers = env.fleet.proxmox.containers().filter((c) => c.hostname.startsWith('someone-'));
    expect(strangers.map((c) => [c.vmid, c.status, c.tags])).to.deep.equal(
      [5000, 5001, 5002, 5003, 5004, 5005, 99_000].map((vmid) => [vmid, 'running', ['backup']]));

    const next = await settle(user, (await create(user, 'crowded-2', gameBody('Crowded 2'))).body.operation.id);
    expect(next.state, JSON.stringify(next.error)).to.equal('succeeded');
    expect((await user.http.get(`/api/servers/${next.instanceId}`)).body.server.vmid).to.equal(5007);
  });
});
