import { ProviderError, SimulatorSeeder, type SeededContainer } from '../../kernel/api';
import type { ProxmoxConfig } from './config';
import type { ProxmoxConnection } from './connection';
import { SEED_PATH } from './testing/simulator';

/** A sample fleet's containers, put into the Proxmox simulator through its control endpoint (local or remote alike). */
export class ProxmoxSeeder extends SimulatorSeeder {
  readonly name = 'proxmox';

  constructor(private readonly config: ProxmoxConfig, private readonly connection: ProxmoxConnection) {
    super();
  }

  async seedContainers(containers: readonly SeededContainer[]): Promise<number> {
    const url = this.connection.simulatorUrl;
    if (!url) throw new ProviderError('proxmox', 'seed', 'the proxmox simulator is not running', { reason: 'not_simulated' });
    const body = {
      containers: containers.map((c) => ({
        vmid: c.vmid, node: c.node, hostname: c.hostname, memory: c.memoryMb, cores: 2, rootfs: 'local-lvm:vm-disk,size=8G',
        net0: 'name=eth0,bridge=vmbr0,ip=dhcp', status: c.state, tags: c.managed ? [...c.tags, this.config.managedTag] : [...c.tags],
      })),
    };
    const res = await fetch(`${url}${SEED_PATH}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000),
    });
    if (!res.ok) throw new ProviderError('proxmox', 'seed', `the proxmox simulator refused the sample containers (${res.status})`, { status: res.status });
    return containers.length;
  }
}
