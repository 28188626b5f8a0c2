import { PortId } from '../ports';
import type { InstanceView } from '../domain';

export interface EdgeRecord {
  id: string;
  name: string;
  target: string;
  port: number;
}

/** What a player types to join: a host name (its SRV record leads to the proxy) and the port behind it. */
export interface PlayerAddress {
  host: string;
  port: number;
}

/** Player-facing names: DNS records that lead players to an instance. */
export abstract class EdgeProvider {
  static readonly port = new PortId<EdgeProvider>('EdgeProvider');
  /** Upsert by name: publishing twice leaves one record. */
  abstract publish(instance: InstanceView): Promise<EdgeRecord>;
  abstract unpublish(instance: InstanceView): Promise<'done' | 'already_gone'>;
  abstract list(): Promise<EdgeRecord[]>;
  /**
   * Where players reach a published instance, or null when it is not published. Answered from
   * the instance alone (no remote call): the server list asks it for every row. A provider
   * written before this method existed answers null, so servers show no address, not an error.
   */
  playerAddress(_instance: InstanceView): PlayerAddress | null {
    return null;
  }
}
