import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { CrashClass, CrashCulprit } from '../../api';

/** One unexpected exit of an instance's server process, as the agent reported it. */
@Entity('crash_report')
export class CrashReport {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index()
  @Column('uuid', { name: 'instance_id' })
  instanceId: string;

  @Column('timestamptz')
  at: Date;

  @Column('int', { name: 'exit_code', nullable: true })
  exitCode: number | null;

  @Column('text', { nullable: true })
  signal: string | null;

  @Column('int', { name: 'uptime_seconds' })
  uptimeSeconds: number;

  @Column('jsonb', { name: 'log_tail', default: [] })
  logTail: string[];

  @Column('text')
  classification: CrashClass;

  /** What the log tail blames, as the instance's type read it. */
  @Column('jsonb', { nullable: true })
  culprit: CrashCulprit | null;

  /** Which restart this crash led to, or 'error' when the supervisor gave up, or 'none' (suspended). */
  @Column('text', { name: 'supervisor_action' })
  supervisorAction: string;

  @Column('timestamptz', { name: 'restart_at', nullable: true })
  restartAt: Date | null;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt: Date;
}
