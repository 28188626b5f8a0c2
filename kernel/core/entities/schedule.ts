import { Column, Entity, Index } from 'typeorm';
import { ZpackEntity } from '../../api';

export type ScheduleAction = 'power' | 'command' | 'backup';
export interface ScheduleTask {
  action: ScheduleAction;
  /** power: `{action}`; command: `{command}`; backup: `{name?}`. */
  payload: Record<string, unknown>;
  delaySeconds: number;
  continueOnFailure: boolean;
}
export interface ScheduleResult {
  at: string;
  /** `succeeded`, `failed` (a task failed and did not continue) or `skipped` (with `reason`). */
  outcome: 'succeeded' | 'failed' | 'skipped';
  reason?: string;
  tasks?: Array<{ action: ScheduleAction; ok: boolean; error?: string }>;
}

/** A recurring list of tasks on one server, fired by a BullMQ job scheduler named after it. */
@Entity('schedule')
export class Schedule extends ZpackEntity {
  @Index()
  @Column('uuid', { name: 'instance_id' })
  instanceId: string;

  @Column('text')
  name: string;

  @Column('text')
  cron: string;

  @Column('text')
  timezone: string;

  @Column('boolean', { name: 'only_when_online', default: false })
  onlyWhenOnline: boolean;

  @Column('boolean', { default: true })
  enabled: boolean;

  @Column('jsonb', { default: [] })
  tasks: ScheduleTask[];

  @Column('jsonb', { name: 'last_result', nullable: true })
  lastResult: ScheduleResult | null;
}

/** One firing of a schedule: the unique (schedule, tick) makes a tick run once however many workers see it. */
@Entity('schedule_run')
@Index(['scheduleId', 'tickAt'], { unique: true })
export class ScheduleRun extends ZpackEntity {
  @Column('uuid', { name: 'schedule_id' })
  scheduleId: string;

  /** The scheduled instant (`run now`: the request's instant). */
  @Column('timestamptz', { name: 'tick_at' })
  tickAt: Date;

  @Column('text')
  outcome: string;

  @Column('jsonb', { nullable: true })
  result: ScheduleResult | null;
}

/** Kernel-side facts about agent-held backups: a lock, and the Idempotency-Key that made one. */
@Entity('backup_record')
@Index(['instanceId', 'backupId'], { unique: true })
export class BackupRecord extends ZpackEntity {
  @Column('uuid', { name: 'instance_id' })
  instanceId: string;

  @Column('text', { name: 'backup_id' })
  backupId: string;

  @Column('boolean', { default: false })
  locked: boolean;

  @Column('text', { name: 'idempotency_key', nullable: true })
  idempotencyKey: string | null;

  @Column('text', { name: 'request_hash', nullable: true })
  requestHash: string | null;

  @Column('jsonb', { nullable: true })
  created: Record<string, unknown> | null;
}
