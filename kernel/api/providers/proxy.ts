import { PortId } from '../ports';
export interface ProxyBackend {
  name: string;
  address: string;
  port: number;
  /**
   * Host names players type that the proxy routes straight to this backend (a proxy's "forced
   * hosts", e.g. the edge's player address). Left out or empty: the proxy routes to it by name only.
   */
  forcedHosts?: string[];
}

/** The player proxy's backend registry: which servers the proxy routes players to. */
export abstract class ProxyRegistry {
  static readonly port = new PortId<ProxyRegistry>('ProxyRegistry');
  abstract register(backend: ProxyBackend): Promise<void>;
  abstract unregister(name: string): Promise<'done' | 'already_gone'>;
  abstract list(): Promise<ProxyBackend[]>;
}
