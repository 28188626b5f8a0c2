import { ProxyRegistry } from '../../kernel/api';
import type { ProxyBackend } from '../../kernel/api';
import type { BridgeClient } from './client/bridge-client';
import type { Backend } from './client/wire';

/** Where the provider finds its client; read on each call so the client can be set up in start(). */
export interface VelocityLink {
  readonly client: BridgeClient;
}

/** ProxyRegistry on the Velocity bridge plugin: the player proxy's backends and the host names routed to them. */
export class VelocityProxy extends ProxyRegistry {
  constructor(private readonly link: VelocityLink) {
    super();
  }

  /** Adds the backend or updates its address and forced hosts; repeating it is harmless. */
  async register(backend: ProxyBackend): Promise<void> {
    await this.link.client.register(backend);
  }

  unregister(name: string): Promise<'done' | 'already_gone'> {
    return this.link.client.unregister(name);
  }

  /** The bridge's backends; forced hosts only where a backend has some, as the port describes them. */
  async list(): Promise<ProxyBackend[]> {
    return (await this.link.client.list()).map(portBackend);
  }
}

const portBackend = ({ name, address, port, forcedHosts }: Backend): ProxyBackend =>
  (forcedHosts.length ? { name, address, port, forcedHosts } : { name, address, port });
