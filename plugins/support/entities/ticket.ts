import { Column, Entity, Index } from 'typeorm';
import { ZpackEntity } from '../../../kernel/api';
import type { InstanceDiagnostics } from '../../../kernel/api';

export const TICKET_STATUSES = ['open', 'pending', 'closed'] as const;
export type TicketStatus = typeof TICKET_STATUSES[number];
export const TICKET_CATEGORIES = ['technical', 'billing', 'account', 'abuse', 'other'] as const;

/** What the operator sees of the server the ticket names, as it was when the ticket was opened. */
export interface ServerSnapshot extends InstanceDiagnostics {
  serverId: string;
  name: string;
  type: string;
  takenAt: string;
}

@Entity('support_ticket')
export class SupportTicket extends ZpackEntity {
  @Index({ unique: true })
  @Column('text')
  number: string;

  @Index()
  @Column('uuid', { name: 'account_id' })
  accountId: string;

  /** The customer's address when the ticket was opened: replies go there. */
  @Column('text')
  email: string;

  @Column('text')
  subject: string;

  @Column('text')
  category: string;

  @Column('text', { default: 'open' })
  status: TicketStatus;

  @Column('uuid', { name: 'assignee_id', nullable: true })
  assigneeId: string | null;

  @Column('uuid', { name: 'server_id', nullable: true })
  serverId: string | null;

  @Column('jsonb', { nullable: true })
  snapshot: ServerSnapshot | null;
}

@Entity('support_ticket_message')
export class TicketMessage extends ZpackEntity {
  @Index()
  @Column('uuid', { name: 'ticket_id' })
  ticketId: string;

  @Column('uuid', { name: 'author_id' })
  authorId: string;

  /** customer: the ticket's owner; staff: an operator. */
  @Column('text', { name: 'author_role' })
  authorRole: 'customer' | 'staff';

  @Column('text')
  body: string;
}
