import { Column, Entity, Index } from 'typeorm';
import { ZpackEntity } from '../../api';
import type { RepairLevel } from '../../api';

export type RepairState = 'proposed' | 'queued' | 'done' | 'failed' | 'skipped';

/**
 * One drift the controller found, and what became of it. While unresolved (resolvedAt null) the
 * same drift seen again updates this row (one unresolved row per subject).
 */
@Entity('repair_event')
@Index('repair_event_unresolved_subject', ['subject'], { unique: true, where: 'resolved_at IS NULL' })
export class RepairEvent extends ZpackEntity {
  @Column('text')
  kind: string;

  @Column('text')
  subject: string;

  /** The detector that reported it. */
  @Column('text')
  detector: string;

  @Column('uuid', { name: 'instance_id', nullable: true })
  instanceId: string | null;

  @Column('uuid', { name: 'operation_id', nullable: true })
  operationId: string | null;

  @Column('jsonb', { default: {} })
  evidence: Record<string, unknown>;

  @Column('text')
  action: string;

  @Column('int')
  level: RepairLevel;

  @Column('text')
  state: RepairState;

  /** Why it was skipped (billing_suspended, maintenance …), or what the repair answered. */
  @Column('jsonb', { nullable: true })
  outcome: Record<string, unknown> | null;

  /** The controller term that last wrote it; the repair worker refuses to act on an older term's event. */
  @Column('bigint', { name: 'fencing_token', transformer: { to: (v: number) => v, from: (v: string | null) => (v === null ? null : Number(v)) } })
  fencingToken: number;

  /** Passes that saw it. */
  @Column('int', { default: 1 })
  sightings: number;

  /** Times it was handed to the repair worker; names the repair job of each. */
  @Column('int', { default: 0 })
  attempts: number;

  @Column('timestamptz', { name: 'last_seen_at' })
  lastSeenAt: Date;

  @Column('uuid', { name: 'approved_by', nullable: true })
  approvedBy: string | null;

  @Column('timestamptz', { name: 'approved_at', nullable: true })
  approvedAt: Date | null;

  /** Repaired, or no longer seen; null while the drift persists. */
  @Column('timestamptz', { name: 'resolved_at', nullable: true })
  resolvedAt: Date | null;
}
