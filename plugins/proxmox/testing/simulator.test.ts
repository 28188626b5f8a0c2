import { expect } from 'chai';
import { proxmoxApi } from 'proxmox-api';
import { ProxmoxSimulator } from './simulator';

const TOKEN = { tokenID: 'zpack@pve!sdk', tokenSecret: '5b8f3c2e-9a41-4d7e-b6a0-2f1c8d9e7a35' };

/** The simulator driven by proxmox-api, a Proxmox VE client we did not write: it must answer as PVE does. */
describe('Proxmox simulator, driven by the proxmox-api npm client', () => {
  const sim = new ProxmoxSimulator({ port: 0, taskMs: 5, nodes: ['pve1', 'pve2'], tokenId: TOKEN.tokenID, tokenSecret: TOKEN.tokenSecret });
  let pve: ReturnType<typeof proxmoxApi>;
  const client = (tokenSecret = TOKEN.tokenSecret) => {
    const { hostname, port } = new URL(sim.url);
    return proxmoxApi({ host: hostname, port: Number(port), schema: 'http', tokenID: TOKEN.tokenID, tokenSecret });
  };
  const settled = async (node: string, upid: string) => {
    for (let i = 0; i < 200; i++) {
      const task = await pve.nodes.$(node).tasks.$(upid).status.$get();
      if (task.status === 'stopped') return task;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`task ${upid} still running`);
  };

  before(async () => {
    await sim.start();
    pve = client();
  });
  after(() => sim.stop());
  beforeEach(() => sim.reset());

  it('answers /version and lists its nodes', async () => {
    expect(await pve.version.$get()).to.include({ release: '8.3' });
    expect((await pve.nodes.$get()).map((n) => [n.node, n.status])).to.deep.equal([['pve1', 'online'], ['pve2', 'online']]);
  });

  it('creates a container through a task, then lists it on its node and in /cluster/resources', async () => {
    const vmid = Number(await pve.cluster.nextid.$get());
    const upid = await pve.nodes.$('pve2').lxc.$post({
      vmid, ostemplate: 'local:vztmpl/debian-12.tar.zst', hostname: 'sdk-ct', memory: 512, cores: 1,
      rootfs: 'local-lvm:4', net0: 'name=eth0,bridge=vmbr0,ip=dhcp', tags: 'zpack;sdk', unprivileged: true,
    });
    expect(await settled('pve2', upid)).to.include({ status: 'stopped', exitstatus: 'OK' });
    expect((await pve.nodes.$('pve2').lxc.$get()).map((c) => [Number(c.vmid), c.status])).to.deep.equal([[vmid, 'stopped']]);
    const resources = await pve.cluster.resources.$get({ type: 'vm' });
    expect(resources.map((r) => [r.vmid, r.node, r.type, r.tags])).to.deep.equal([[vmid, 'pve2', 'lxc', 'zpack;sdk']]);
    expect((await pve.cluster.resources.$get({ type: 'node' })).map((r) => r.node)).to.deep.equal(['pve1', 'pve2']);
  });

  it('starts, reports and stops a container, and deletes it', async () => {
    const vmid = 140;
    await settled('pve1', await pve.nodes.$('pve1').lxc.$post({ vmid, ostemplate: 'local:vztmpl/debian-12.tar.zst', tags: 'zpack' }));
    await settled('pve1', await pve.nodes.$('pve1').lxc.$(vmid).status.start.$post());
    expect(await pve.nodes.$('pve1').lxc.$(vmid).status.current.$get()).to.include({ status: 'running' });
    await settled('pve1', await pve.nodes.$('pve1').lxc.$(vmid).status.stop.$post());
    await settled('pve1', await pve.nodes.$('pve1').lxc.$(vmid).$delete({ purge: true }));
    expect(await pve.nodes.$('pve1').lxc.$get()).to.deep.equal([]);
  });

  it('refuses a bad token with 401, the reason in the status line', async () => {
    const err = await client('00000000-0000-4000-8000-000000000000').nodes.$get().then(() => null, (e: Error) => e);
    expect(err?.message).to.match(/return Error 401 /);
  });

  it('refuses a create on a VMID in use with 500 and "already exists" in the status line', async () => {
    await settled('pve1', await pve.nodes.$('pve1').lxc.$post({ vmid: 150, ostemplate: 'local:vztmpl/debian-12.tar.zst' }));
    const err = await pve.nodes.$('pve1').lxc.$post({ vmid: 150, ostemplate: 'local:vztmpl/debian-12.tar.zst' }).then(() => null, (e: Error) => e);
    expect(err?.message).to.match(/return Error 500 .*CT 150 already exists/);
  });

  it('answers a parameter error with 400 and the errors per parameter', async () => {
    const err = await pve.nodes.$('pve1').lxc.$post({ vmid: 160, ostemplate: '' }).then(() => null, (e: Error) => e);
    expect(err?.message).to.match(/return Error 400 Parameter verification failed\..*"errors":\{"ostemplate"/);
  });
});
