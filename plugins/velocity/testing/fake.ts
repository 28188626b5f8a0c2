import { ProxyRegistry } from '../../../kernel/api';
import type { ProxyBackend } from '../../../kernel/api';

/** ProxyRegistry in memory: a backend per name, as the Velocity bridge keeps them. */
export class FakeProxyRegistry extends ProxyRegistry {
  private readonly backends = new Map<string, ProxyBackend>();

  async register({ name, address, port, forcedHosts = [] }: ProxyBackend): Promise<void> {
    this.backends.set(name, forcedHosts.length ? { name, address, port, forcedHosts: [...forcedHosts] } : { name, address, port });
  }

  async unregister(name: string): Promise<'done' | 'already_gone'> {
    return this.backends.delete(name) ? 'done' : 'already_gone';
  }

  async list(): Promise<ProxyBackend[]> {
    return [...this.backends.values()].map((b) => structuredClone(b));
  }
}
