import { Column, Entity } from 'typeorm';
import { ZpackEntity } from '../../api';

/** An operator's maintenance window on one node (or the fleet when node is null). */
@Entity('maintenance_window')
export class MaintenanceWindow extends ZpackEntity {
  @Column('text', { nullable: true })
  node: string | null;

  @Column('timestamptz', { name: 'starts_at' })
  startsAt: Date;

  @Column('timestamptz', { name: 'ends_at' })
  endsAt: Date;

  @Column('text')
  message: string;

  @Column('uuid', { name: 'created_by', nullable: true })
  createdBy: string | null;

  /** When the affected customers were told it is coming (once). */
  @Column('timestamptz', { name: 'scheduled_notice_at', nullable: true })
  scheduledNoticeAt: Date | null;

  /** When they were told it has begun (once). */
  @Column('timestamptz', { name: 'starting_notice_at', nullable: true })
  startingNoticeAt: Date | null;
}
