import { Column, Entity, Index } from 'typeorm';
import { ZpackEntity } from '../../api';
import type { CrashClass, CrashCulprit, InstanceKind, InstanceState, InstanceView, PortBinding } from '../../api';

export interface CrashSummary {
  id: string;
  crashedAt: string;
  exitCode: number | null;
  signal: string | null;
  uptimeSeconds: number;
  classification: CrashClass;
  culprit?: CrashCulprit | null;
  logTail: string[];
}
export interface SupervisorState {
  consecutive: number;
  nextRestartAt: string | null;
}
export interface AgentTaskEvent {
  state: string;
  id: string | null;
  at: string;
}

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

  /** The container's own address (IP or hostname), as the hosting provider reported it. */
  @Column('text', { nullable: true })
  host: string | null;

  @Column('jsonb', { default: [] })
  ports: PortBinding[];

  /** Plugin sections, keyed by plugin name, merged key by key, never replaced whole. */
  @Column('jsonb', { default: {} })
  payload: Record<string, unknown>;

  /** The last crash, as the status shows it (the full reports are crash_report rows). */
  /** The type's options as last set (create, resize, reinstall); null on rows made before it was kept. */
  @Column('jsonb', { nullable: true })
  options: Record<string, unknown> | null;

  @Column('jsonb', { name: 'last_crash', nullable: true })
  lastCrash: CrashSummary | null;

  /** Restarts in a row and when the next one is due. */
  @Column('jsonb', { nullable: true })
  supervisor: SupervisorState | null;

  /** The agent's last backup and restore events. */
  @Column('jsonb', { name: 'last_backup', nullable: true })
  lastBackup: AgentTaskEvent | null;

  @Column('jsonb', { name: 'last_restore', nullable: true })
  lastRestore: AgentTaskEvent | null;

  @Column('timestamptz', { name: 'deleted_at', nullable: true })
  deletedAt: Date | null;
}

export function instanceView(i: Instance): InstanceView {
  return {
    id: i.id, ownerId: i.ownerId, kind: i.kind, type: i.type, name: i.name, state: i.state,
    vmid: i.vmid, node: i.node, address: i.address, host: i.host, ports: i.ports, payload: i.payload, createdAt: i.createdAt,
  };
}
