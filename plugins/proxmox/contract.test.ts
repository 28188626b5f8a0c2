import { randomUUID } from 'node:crypto';
import type { ContainerSpec } from '../../kernel/api';
import { describeHostingProviderContract } from '../../kernel/testing';
import { FakeHosting } from './testing/fake';
import { SimulatedProxmox } from './testing/fixture';

const spec = (vmid: number, node: string): ContainerSpec => ({
  vmid, node, hostname: `ct-${vmid}`, template: 'paper', memoryMb: 1024, cores: 1, diskGb: 4, tags: ['zpack', `op-${randomUUID()}`],
});
const adoptionTag = (made: ContainerSpec) => made.tags.find((t) => t.startsWith('op-'))!;

describeHostingProviderContract('ProxmoxHosting → Proxmox simulator', async () => {
  const proxmox = await new SimulatedProxmox({ taskMs: 2 }).start();
  return {
    provider: proxmox.hosting(), spec, adoptionTag,
    foreign: async (vmid, node) => proxmox.simulator.addContainer({
      vmid, node, hostname: 'someone-elses', memory: 512, cores: 1, rootfs: 'local-lvm:4', net0: 'name=eth0,bridge=vmbr0,ip=dhcp', tags: ['backup'], status: 'running',
    }),
    teardown: () => proxmox.stop(),
  };
});

describeHostingProviderContract('FakeHosting', async () => {
  const fake = new FakeHosting(['pve1', 'pve2']);
  return { provider: fake, spec, adoptionTag, foreign: async (vmid, node) => fake.addForeign(vmid, node) };
});
