import type { DataSource, EntityManager } from 'typeorm';
import { NotFoundError, RateLimitedError } from '../../kernel/api';
import type { AccountView, Clock, InstanceAccess, InstanceDirectory, Notifications } from '../../kernel/api';
import type { SupportConfig } from './config';
import { SupportTicket, TicketMessage, type ServerSnapshot, type TicketStatus } from './entities/ticket';
import { nextTicketNumber } from './numbering';

export interface NewTicket {
  subject: string;
  message: string;
  category: string;
  serverId?: string;
}

export interface TicketDeps {
  ds: () => DataSource;
  config: SupportConfig;
  clock: () => Clock;
  access: () => InstanceAccess;
  directory: () => InstanceDirectory;
  notifications: () => Notifications;
}

/**
 * Tickets: a number per day, a thread of messages, and mail to the other side of each message.
 * Ticket text is stored and relayed, never interpreted: nothing in it triggers an action.
 */
export class TicketDesk {
  constructor(private readonly d: TicketDeps) {}

  async open(account: AccountView, input: NewTicket): Promise<{ ticket: SupportTicket; message: TicketMessage }> {
    await this.withinHourlyLimit(account.id);
    // The server must be one the customer can see (404 otherwise, as everywhere).
    const snapshot = input.serverId ? await this.snapshot(account, input.serverId) : null;
    // Its own statement: the counter row is locked only while it is incremented, not while the ticket is written.
    const number = await nextTicketNumber(this.d.ds().manager, this.d.config.ticketPrefix, this.d.clock().now(), this.d.config.timeZone);
    const { ticket, message } = await this.d.ds().transaction(async (m) => {
      // Asked again under a lock per account, so a burst of opens cannot all pass the first look together.
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('support_ticket:' || $1))`, [account.id]);
      await this.withinHourlyLimit(account.id, m);
      const ticket = await m.getRepository(SupportTicket).save(m.getRepository(SupportTicket).create({
        number, accountId: account.id, email: account.email, subject: input.subject, category: input.category, status: 'open',
        assigneeId: null, serverId: input.serverId ?? null, snapshot,
      }));
      const message = await m.getRepository(TicketMessage).save(m.getRepository(TicketMessage).create({
        ticketId: ticket.id, authorId: account.id, authorRole: 'customer', body: input.message,
      }));
      return { ticket, message };
    });
    const notifications = this.d.notifications();
    await notifications.sendToOwner({
      to: account.email, template: 'support_acknowledgement',
      data: { ticketId: ticket.id, number: ticket.number, subject: ticket.subject, category: ticket.category, message: input.message },
    });
    await notifications.sendToOperators('support', {
      template: 'support_ticket_opened', subject: `New ticket ${ticket.number}: ${ticket.subject}`,
      text: `From: ${account.email}\nCategory: ${ticket.category}\n` +
        (snapshot ? `Server: ${snapshot.name} (${snapshot.serverId}), state ${snapshot.state}` +
          `${snapshot.lastCrash ? `, last crash ${snapshot.lastCrash.classification} at ${snapshot.lastCrash.crashedAt}` : ''}\n` : '') +
        `\n${input.message}`,
      data: { ticketId: ticket.id, number: ticket.number },
    });
    return { ticket, message };
  }

  /** At most `ticketsPerHour` tickets in the last hour; Retry-After says when the oldest of them leaves the window. */
  private async withinHourlyLimit(accountId: string, m: EntityManager = this.d.ds().manager): Promise<void> {
    const [row] = await m.query(
      `SELECT count(*)::int AS n, extract(epoch FROM min(created_at) + interval '1 hour' - now()) AS wait
         FROM support_ticket WHERE account_id = $1 AND created_at > now() - interval '1 hour'`, [accountId]) as Array<{ n: number; wait: number | null }>;
    if (row.n >= this.d.config.ticketsPerHour) throw new RateLimitedError(Math.max(1, Math.ceil(Number(row.wait ?? 3600))));
  }

  private async snapshot(account: AccountView, serverId: string): Promise<ServerSnapshot> {
    const server = await this.d.access().require(account, serverId, 'activity');
    const diagnostics = await this.d.directory().diagnostics(serverId);
    if (!diagnostics) throw new NotFoundError('Server');
    return { serverId, name: server.name, type: server.type, takenAt: this.d.clock().now().toISOString(), ...diagnostics };
  }

  /** A message on the thread; the other side is told. A customer's reply reopens a pending ticket. */
  async reply(ticket: SupportTicket, author: AccountView, role: 'customer' | 'staff', body: string): Promise<TicketMessage> {
    const message = await this.d.ds().transaction(async (m) => {
      const saved = await m.getRepository(TicketMessage).save(m.getRepository(TicketMessage).create({ ticketId: ticket.id, authorId: author.id, authorRole: role, body }));
      const status: TicketStatus = role === 'customer' ? 'open' : ticket.status === 'open' ? 'pending' : ticket.status;
      await m.getRepository(SupportTicket).update(ticket.id, { status });
      ticket.status = status;
      return saved;
    });
    const notifications = this.d.notifications();
    const data = { ticketId: ticket.id, number: ticket.number, subject: ticket.subject, message: body, status: ticket.status };
    if (role === 'staff') {
      await notifications.sendToOwner({ to: ticket.email, template: 'support_reply', data: { ...data, from: 'Support' } });
    } else {
      if (this.d.config.staffEmail) {
        await notifications.sendToOwner({ to: this.d.config.staffEmail, template: 'support_reply', data: { ...data, from: ticket.email } });
      }
      await notifications.sendToOperators('support', {
        template: 'support_ticket_reply', subject: `Reply on ${ticket.number}: ${ticket.subject}`, text: `From: ${ticket.email}\n\n${body}`, data,
      });
    }
    return message;
  }

  async thread(ticketId: string): Promise<TicketMessage[]> {
    return this.d.ds().getRepository(TicketMessage).find({ where: { ticketId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }
}
