import { EdgeProvider, SimulatorSeeder, eachLimited, type SeededServer } from '../../kernel/api';
import type { SrvServiceOf } from './provider';

const LANES = 8;

/**
 * A sample fleet's SRV records, as the old system published them: written through this plugin's
 * own client, so they land in the simulator it talks to (this process's, or the simulators process's).
 */
export class CloudflareSeeder extends SimulatorSeeder {
  readonly name = 'cloudflare';

  constructor(private readonly edge: () => EdgeProvider, private readonly srvServiceOf: SrvServiceOf) {
    super();
  }

  async seedServers(servers: readonly SeededServer[]): Promise<number> {
    const due = servers.filter((s) => !s.omit.includes('edge') && s.instance.vmid !== null && this.srvServiceOf(s.instance));
    await eachLimited(due, LANES, (s) => this.edge().publish(s.instance));
    return due.length;
  }
}
