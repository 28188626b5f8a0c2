import { Column, Entity, Index } from 'typeorm';
import { ZpackEntity } from '../../api';
import type { InstanceKind, InstanceState, InstanceView, PortBinding } from '../../api';

@Entity('instance')
export class Instance extends ZpackEntity {
  @Index()
  @Column('uuid', { name: 'owner_id' })
  ownerId: string;

  @Column('text')
  kind: InstanceKind;

  @Column('text')
  type: string;

  @Column('text')
  name: string;

  @Column('text', { default: 'provisioning' })
  state: InstanceState;

  @Column('int', { nullable: true })
  vmid: number | null;

  @Column('text', { nullable: true })
  node: string | null;

  @Column('text', { nullable: true })
  address: string | null;

  @Column('jsonb', { default: [] })
  ports: PortBinding[];

  /** Plugin-owned sections (proxy, edge, crash …), merged key by key, never replaced whole. */
  @Column('jsonb', { default: {} })
  payload: Record<string, unknown>;

  @Column('timestamptz', { name: 'deleted_at', nullable: true })
  deletedAt: Date | null;
}

export function instanceView(i: Instance): InstanceView {
  return {
    id: i.id, ownerId: i.ownerId, kind: i.kind, type: i.type, name: i.name, state: i.state,
    vmid: i.vmid, node: i.node, address: i.address, ports: i.ports, payload: i.payload, createdAt: i.createdAt,
  };
}
