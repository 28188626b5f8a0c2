import { PortId } from '../ports';
import type { InstanceView } from '../domain';

export interface EdgeRecord {
  id: string;
  name: string;
  target: string;
  port: number;
}

/** Player-facing names: DNS records that lead players to an instance. */
export abstract class EdgeProvider {
  static readonly port = new PortId<EdgeProvider>('EdgeProvider');
  /** Upsert by name: publishing twice leaves one record. */
  abstract publish(instance: InstanceView): Promise<EdgeRecord>;
  abstract unpublish(instance: InstanceView): Promise<'done' | 'already_gone'>;
  abstract list(): Promise<EdgeRecord[]>;
}
