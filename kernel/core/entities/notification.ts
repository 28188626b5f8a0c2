import { Column, Entity, Index } from 'typeorm';
import { ZpackEntity } from '../../api';

/**
 * pending (due at nextAttemptAt) → sending (claimed by one worker until leaseUntil) → sent; a
 * failure goes back to pending with backoff, or to failed after the last attempt (an operator can
 * retry it). undeliverable: no channel could take it; suppressed: the customer turned it off.
 */
export type NotificationState = 'pending' | 'sending' | 'sent' | 'failed' | 'undeliverable' | 'suppressed';

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

  @Column('text', { nullable: true })
  html: string | null;

  @Column('timestamptz', { name: 'next_attempt_at', default: () => 'now()' })
  nextAttemptAt: Date;

  @Column('timestamptz', { name: 'lease_until', nullable: true })
  leaseUntil: Date | null;

  @Column('timestamptz', { name: 'sent_at', nullable: true })
  sentAt: Date | null;
}
