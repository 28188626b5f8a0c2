import { describeHostingProviderContract } from '../../kernel/testing';
import { FakeHosting } from './testing/fake';
import { SimulatedProxmox } from './testing/fixture';

describeHostingProviderContract('ProxmoxHosting → Proxmox simulator', async () => {
  const proxmox = await new SimulatedProxmox({ taskMs: 2 }).start();
  return {
    provider: proxmox.hosting(), template: 'paper',
    foreign: async (vmid, node) => proxmox.simulator.addContainer({
      vmid, node, hostname: 'someone-elses', memory: 512, cores: 1, rootfs: 'local-lvm:4', net0: 'name=eth0,bridge=vmbr0,ip=dhcp', tags: ['backup'], status: 'running',
    }),
    teardown: () => proxmox.stop(),
  };
});

describeHostingProviderContract('FakeHosting', async () => {
  const fake = new FakeHosting(['pve1', 'pve2']);
  return { provider: fake, template: 'paper', foreign: async (vmid, node) => fake.addForeign(vmid, node) };
});
