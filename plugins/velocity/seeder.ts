import { SimulatorSeeder, eachLimited, type InstanceView, type ProxyRegistry, type SeededServer } from '../../kernel/api';
import { backendFor } from './backend';

const LANES = 8;

/**
 * A sample fleet's proxy registrations, as the old system's bridge held them: every running
 * server of a proxied type, registered through this plugin's own client (local or remote simulator).
 */
export class VelocitySeeder extends SimulatorSeeder {
  readonly name = 'velocity';

  constructor(
    private readonly proxy: ProxyRegistry,
    private readonly proxiedTypes: () => string[],
    private readonly playerHost: (instance: InstanceView) => string | null,
  ) {
    super();
  }

  async seedServers(servers: readonly SeededServer[]): Promise<number> {
    const types = new Set(this.proxiedTypes());
    const due = servers.filter((s) => !s.omit.includes('proxy') && s.instance.state === 'running' && s.instance.host && types.has(s.instance.type));
    await eachLimited(due, LANES, ({ instance }) => this.proxy.register(backendFor(instance, this.playerHost(instance))));
    return due.length;
  }
}
