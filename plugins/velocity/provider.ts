import { ProxyRegistry } from '../../kernel/api';
import type { ProxyBackend } from '../../kernel/api';
import type { BridgeClient } from './client/bridge-client';

/** Where the provider finds its client; read on each call so the client can be set up in start(). */
export interface VelocityLink {
  readonly client: BridgeClient;
}

/** ProxyRegistry on the Velocity bridge plugin: the player proxy's backends. */
export class VelocityProxy extends ProxyRegistry {
  constructor(private readonly link: VelocityLink) {
    super();
  }

  /** Adds the backend or updates its address; repeating it is harmless. */
  async register(backend: ProxyBackend): Promise<void> {
    await this.link.client.register(backend);
  }

  unregister(name: string): Promise<'done' | 'already_gone'> {
    return this.link.client.unregister(name);
  }

  list(): Promise<ProxyBackend[]> {
    return this.link.client.list();
  }
}
