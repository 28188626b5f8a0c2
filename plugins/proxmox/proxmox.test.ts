import { expect } from 'chai';
import { ProviderError, VmidTakenError } from '../../kernel/api';
import type { ContainerSpec } from '../../kernel/api';
import { proxmoxConfig } from './config';
import { SimulatedProxmox } from './testing/fixture';
import type { ProxmoxHosting } from './provider';
import type { ProxmoxSimulator, SimulatedContainer } from './testing/simulator';

const OPERATION = '3f0c9c1e-1d1a-4c8e-9a53-5d7f6f0e2a11';
const OTHER_OPERATION = '8b1f5a22-6c4e-4f0b-b7a8-0e9d3c2a7f44';
const OP = `op-${OPERATION}`;
const spec = (overrides: Partial<ContainerSpec> = {}): ContainerSpec => ({
  vmid: 1001, node: 'pve1', operationId: OPERATION, instanceId: '0b7e4a52-41a6-4f5e-9d0c-7c2b1a9e3f60', instanceName: 'Survival',
  template: 'paper', memoryMb: 2048, cores: 2, diskGb: 8, ...overrides,
});
const foreign = (overrides: Partial<SimulatedContainer> = {}): SimulatedContainer => ({
  vmid: 500, node: 'pve2', hostname: 'someone-elses', memory: 512, cores: 1, rootfs: 'local-lvm:4',
  net0: 'name=eth0,bridge=vmbr0,ip=dhcp', tags: ['backup'], status: 'running', ...overrides,
});

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err, 'expected a ProviderError').to.be.instanceOf(ProviderError);
  return err as ProviderError;
}

describe('ProxmoxHosting (against the Proxmox simulator)', () => {
  const proxmox = new SimulatedProxmox();
  let sim: ProxmoxSimulator;
  let hosting: ProxmoxHosting;

  before(async () => {
    await proxmox.start();
    sim = proxmox.simulator;
  });
  after(() => proxmox.stop());
  beforeEach(() => {
    sim.reset();
    hosting = proxmox.hosting();
  });

  it('creates, starts, addresses, stops and destroys a container', async () => {
    const ref = await hosting.create(spec());
    expect(ref).to.deep.equal({ vmid: 1001, node: 'pve1' });
    expect(sim.containers()).to.deep.equal([{
      vmid: 1001, node: 'pve1', hostname: 'zp-1001', memory: 2048, cores: 2, rootfs: 'local-lvm:8',
      net0: 'name=eth0,bridge=vmbr0,ip=dhcp', tags: ['zpack', OP], status: 'stopped',
    }]);
    expect(await hosting.status(ref)).to.equal('stopped');

    await hosting.start(ref);
    expect(await hosting.status(ref)).to.equal('running');
    expect(await hosting.address(ref)).to.deep.equal({ host: '127.0.0.1', agentUrl: 'http://127.0.0.1:7071/ct/1001' });

    await hosting.stop(ref);
    expect(sim.containers()[0].status).to.equal('stopped');

    expect(await hosting.destroy(ref)).to.equal('done');
    expect(sim.containers()).to.deep.equal([]);
    expect(await hosting.status(ref)).to.equal('missing');
  });

  it('creates on the node the spec names', async () => {
    expect(await hosting.create(spec({ node: 'pve2' }))).to.deep.equal({ vmid: 1001, node: 'pve2' });
    expect(sim.containers().map((c) => c.node)).to.deep.equal(['pve2']);
  });

  it('substitutes {ip} in the agent endpoint', async () => {
    const ref = await hosting.create(spec());
    await hosting.start(ref);
    expect((await proxmox.hosting({ agentEndpoint: 'http://{ip}:7070' }).address(ref)).agentUrl).to.equal('http://127.0.0.1:7070');
  });

  it('treats starting a running container and stopping a stopped one as done', async () => {
    const ref = await hosting.create(spec());
    await hosting.stop(ref);
    await hosting.start(ref);
    await hosting.start(ref);
    expect(sim.containers()[0].status).to.equal('running');
  });

  it('destroys a running container by stopping it first', async () => {
    const ref = await hosting.create(spec());
    await hosting.start(ref);
    expect(await hosting.destroy(ref)).to.equal('done');
    expect(sim.containers()).to.deep.equal([]);
    const calls = sim.requests.map((r) => `${r.method} ${r.path}`);
    expect(calls.indexOf('POST /nodes/pve1/lxc/1001/status/stop')).to.be.lessThan(calls.indexOf('DELETE /nodes/pve1/lxc/1001'));
  });

  it("answers 'already_gone' for a container that does not exist", async () => {
    expect(await hosting.destroy({ vmid: 4242, node: 'pve1' })).to.equal('already_gone');
  });

  it('refuses to destroy a container without the managed tag', async () => {
    sim.addContainer(foreign());
    const err = await rejection(hosting.destroy({ vmid: 500, node: 'pve2' }));
    expect(err.details).to.include({ reason: 'not_managed', operation: 'destroy' });
    expect(sim.containers().map((c) => c.vmid)).to.deep.equal([500]);
  });

  it('finds the container an operation created, and null for any other operation', async () => {
    sim.addContainer(foreign());
    await hosting.create(spec({ node: 'pve2' }));
    expect(await hosting.findByOperation(OPERATION)).to.deep.equal({ vmid: 1001, node: 'pve2' });
    expect(await hosting.findByOperation(OTHER_OPERATION)).to.equal(null);
  });

  it('adopts nothing that lacks the managed tag, even with the operation tag', async () => {
    sim.addContainer(foreign({ tags: [OP] }));
    expect(await hosting.findByOperation(OPERATION)).to.equal(null);
  });

  describe('with managedTag "other"', () => {
    it('tags what it creates with it and destroys it', async () => {
      const own = proxmox.hosting({ managedTag: 'other' });
      const ref = await own.create(spec());
      expect(sim.containers()[0].tags).to.deep.equal(['other', OP]);
      expect(await own.findByOperation(OPERATION)).to.deep.equal(ref);
      expect(await own.destroy(ref)).to.equal('done');
      expect(sim.containers()).to.deep.equal([]);
    });

    it('refuses to destroy a container carrying only the default tag', async () => {
      const ref = await hosting.create(spec());
      const err = await rejection(proxmox.hosting({ managedTag: 'other' }).destroy(ref));
      expect(err.details).to.include({ reason: 'not_managed' });
      expect(sim.containers()).to.have.length(1);
    });
  });

  it('locates a VMID on its node, and null when no guest holds it', async () => {
    sim.addContainer(foreign());
    expect(await hosting.locate(500)).to.equal('pve2');
    expect(await hosting.locate(501)).to.equal(null);
  });

  it('picks the configured node with the fewest managed containers', async () => {
    sim.addContainer(foreign({ vmid: 600, node: 'pve1', tags: ['zpack'] }));
    sim.addContainer(foreign({ vmid: 601, node: 'pve2', tags: ['zpack'] }));
    sim.addContainer(foreign({ vmid: 602, node: 'pve2', tags: ['zpack'] }));
    sim.addContainer(foreign({ vmid: 603, node: 'pve1' }));
    sim.addContainer(foreign({ vmid: 604, node: 'pve1' }));
    expect(await hosting.pickNode()).to.equal('pve1');
  });

  it('adopts a container its own operation already created', async () => {
    const ref = await hosting.create(spec({ node: 'pve2' }));
    expect(await hosting.create(spec({ node: 'pve2' }))).to.deep.equal(ref);
    expect(sim.containers()).to.have.length(1);
  });

  it('adopts only once the earlier create task has released its lock', async () => {
    const slow = await new SimulatedProxmox({ taskMs: 300 }).start();
    try {
      await slow.client().createLxc('pve1', {
        vmid: 1001, hostname: 'zp-1001', description: 'Survival', ostemplate: 'local:vztmpl/zpack-minecraft.tar.zst', memory: 2048, cores: 2,
        rootfs: 'local-lvm:8', net0: 'name=eth0,bridge=vmbr0,ip=dhcp', tags: `zpack;${OP}`, unprivileged: true,
      });
      expect(await slow.hosting().create(spec())).to.deep.equal({ vmid: 1001, node: 'pve1' });
      expect(slow.simulator.containers()).to.have.length(1);
      expect(slow.simulator.containers()[0]).to.not.have.property('lock');
      expect(slow.simulator.requests.filter((r) => r.path === '/nodes/pve1/lxc/1001/config').length).to.be.greaterThan(1);
    } finally {
      await slow.stop();
    }
  });

  it('refuses a VMID that another operation holds with VmidTakenError', async () => {
    await hosting.create(spec());
    const err = await rejection(hosting.create(spec({ operationId: OTHER_OPERATION })));
    expect(err).to.be.instanceOf(VmidTakenError);
    expect(err.details).to.deep.include({ reason: 'vmid_taken', vmid: 1001, holder: { node: 'pve1', type: 'lxc', tags: ['zpack', OP] } });
    expect(sim.containers().map((c) => c.tags)).to.deep.equal([['zpack', OP]]);
  });

  it('refuses a VMID Proxmox reports taken even when no guest is visible', async () => {
    sim.faults.alreadyExists = 1;
    const err = await rejection(hosting.create(spec()));
    expect(err).to.be.instanceOf(VmidTakenError);
    expect(err.details).to.deep.include({ reason: 'vmid_taken', holder: null });
    expect(sim.containers()).to.deep.equal([]);
  });

});

describe('proxmox config', () => {
  it('requires baseUrl, tokenId and tokenSecret unless simulate is on', () => {
    const parsed = proxmoxConfig.safeParse({});
    expect(parsed.success).to.equal(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).to.deep.equal(['baseUrl', 'tokenId', 'tokenSecret']);
    expect(proxmoxConfig.safeParse({ simulate: true }).success).to.equal(true);
  });

  it('rejects a managed tag outside the Proxmox tag charset', () => {
    const parsed = proxmoxConfig.safeParse({ simulate: true, managedTag: 'op:bad' });
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).to.deep.equal(['managedTag']);
  });

  it('rejects a token id that is not USER@REALM!TOKENID', () => {
    const parsed = proxmoxConfig.safeParse({ baseUrl: 'https://pve1:8006/api2/json', tokenId: 'zpack', tokenSecret: 'x' });
    expect(parsed.error?.issues[0].path).to.deep.equal(['tokenId']);
  });
});
