import { Column, Entity, Index } from 'typeorm';
import { ZpackEntity } from '../../api';

export type NotificationState = 'pending' | 'sent' | 'failed' | 'undeliverable';

/** Outbox row: written before delivery so nothing is lost when a mail server is down. */
@Entity('notification')
export class Notification extends ZpackEntity {
  @Column('text')
  channel: string;

  @Index()
  @Column('text')
  recipient: string;

  @Column('text')
  template: string;

  @Column('text')
  subject: string;

  @Column('text')
  body: string;

  @Column('jsonb', { default: {} })
  data: Record<string, unknown>;

  @Column('text', { default: 'pending' })
  state: NotificationState;

  @Column('int', { default: 0 })
  attempts: number;

  @Column('text', { name: 'last_error', nullable: true })
  lastError: string | null;
}
