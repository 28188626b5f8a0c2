import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** A VMID taken from the configured range; the primary key makes double allocation impossible. */
@Entity('vmid_allocation')
export class VmidAllocation {
  @PrimaryColumn('int')
  vmid: number;

  /** Null when the VMID is held by something that is not ours (found taken by the hosting provider). */
  @Column('uuid', { name: 'instance_id', nullable: true })
  instanceId: string | null;

  @Column('text', { default: 'instance' })
  reason: 'instance' | 'foreign';

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt: Date;
}

/** A host port from the configured range, unique across the fleet. */
@Entity('port_allocation')
export class PortAllocation {
  @PrimaryColumn('int')
  port: number;

  @Column('uuid', { name: 'instance_id' })
  instanceId: string;

  @Column('text')
  name: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt: Date;
}
