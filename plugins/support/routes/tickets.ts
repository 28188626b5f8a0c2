import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { NotFoundError, pageQuery, paged } from '../../../kernel/api';
import type { ApiRouter, Pager } from '../../../kernel/api';
import type { SupportConfig } from '../config';
import { SupportTicket } from '../entities/ticket';
import { cleanLine, cleanText } from '../hygiene';
import type { TicketDesk } from '../tickets';
import {
  adminMessageSchema, adminMessageView, adminTicketSchema, adminTicketView, messageSchema, messageView, ticketCategory, ticketSchema, ticketStatus, ticketView,
} from './schemas';

interface Deps {
  ds: () => DataSource;
  config: SupportConfig;
  desk: TicketDesk;
  pager: () => Pager;
}

const idParam = z.object({ id: z.uuid() });
const NEWEST_FIRST = { column: 'created_at', direction: 'DESC' } as const;

/** Text that is still text after cleaning: a subject or message of only control characters is refused. */
const text = (max: number, clean: (s: string) => string) =>
  z.string().max(max).transform(clean).pipe(z.string().min(1, 'must not be empty'));

export function ticketRoutes(r: ApiRouter, { ds, config, desk, pager }: Deps): void {
  const tickets = () => ds().getRepository(SupportTicket);
  const body = z.object({
    subject: text(config.subjectMaxChars, cleanLine),
    message: text(config.messageMaxChars, cleanText),
    category: ticketCategory,
    serverId: z.uuid().optional().meta({ description: 'One of your servers: the ticket keeps a read-only snapshot of its state' }),
  }).strict();
  const created = z.object({ ticket: ticketSchema });
  const location = { Location: 'The new ticket: /api/support/tickets/{id}' };
  const open = async ({ account, body: input }: { account: Parameters<TicketDesk['open']>[0]; body: z.infer<typeof body> }) => {
    const { ticket } = await desk.open(account, input);
    return { status: 201 as const, body: { ticket: ticketView(ticket) }, headers: { Location: `/api/support/tickets/${ticket.id}` } };
  };

  r.route({
    method: 'post', path: '/api/support/tickets', summary: 'Open a support ticket', auth: 'user', tags: ['support'],
    operationId: 'createSupportTicket', responses: { 201: created }, responseHeaders: location, body, errors: [404, 429],
    description: 'The customer gets an acknowledgement email and the support channel an alert. A `serverId` that is not yours is 404; past `ticketsPerHour` new tickets in an hour, 429 with Retry-After.',
    handler: (ctx) => open(ctx),
  });
  r.route({
    method: 'post', path: '/api/support/create', summary: 'Open a support ticket (older path of POST /api/support/tickets)', auth: 'user', tags: ['support'],
    operationId: 'createSupportTicketLegacy', responses: { 201: created }, responseHeaders: location, body, errors: [404, 429],
    handler: (ctx) => open(ctx),
  });

  r.route({
    method: 'get', path: '/api/support/tickets', summary: 'Your tickets, newest first', auth: 'user', tags: ['support'],
    operationId: 'listSupportTickets', responses: { 200: paged({ tickets: z.array(ticketSchema) }) },
    query: pageQuery({ status: ticketStatus.optional() }),
    handler: async ({ account, query }) => {
      const qb = tickets().createQueryBuilder('t').where('t.account_id = :me', { me: account.id });
      if (query.status) qb.andWhere('t.status = :status', { status: query.status });
      const page = await pager().page(qb, query, NEWEST_FIRST);
      return { body: { tickets: page.items.map(ticketView), nextCursor: page.nextCursor } };
    },
  });

  r.route({
    method: 'get', path: '/api/support/tickets/:id', summary: 'One of your tickets with its thread', auth: 'user', tags: ['support'],
    operationId: 'getSupportTicket', responses: { 200: z.object({ ticket: ticketSchema, messages: z.array(messageSchema) }) }, params: idParam,
    handler: async ({ account, params }) => {
      const ticket = await tickets().findOneBy({ id: params.id, accountId: account.id });
      if (!ticket) throw new NotFoundError('Ticket');
      return { body: { ticket: ticketView(ticket), messages: (await desk.thread(ticket.id)).map(messageView) } };
    },
  });

  r.route({
    method: 'post', path: '/api/support/tickets/:id/messages', summary: 'Reply on a ticket (its customer, or an admin)', auth: 'user', tags: ['support'],
    operationId: 'replySupportTicket', responses: { 201: z.object({ message: messageSchema }) }, params: idParam,
    description: 'The reply is emailed to the other side: a staff reply to the customer, a customer reply to the staff.',
    body: z.object({ message: text(config.messageMaxChars, cleanText) }).strict(),
    handler: async ({ account, params, body: input }) => {
      const ticket = await tickets().findOneBy({ id: params.id });
      const own = ticket?.accountId === account.id;
      if (!ticket || (!own && account.role !== 'admin')) throw new NotFoundError('Ticket');
      const message = await desk.reply(ticket, account, own ? 'customer' : 'staff', input.message);
      return { status: 201, body: { message: messageView(message) } };
    },
  });

  r.route({
    method: 'get', path: '/api/admin/support/tickets', summary: 'Every ticket, newest first', auth: 'admin', tags: ['admin', 'support'],
    operationId: 'adminListSupportTickets', responses: { 200: paged({ tickets: z.array(adminTicketSchema) }) },
    query: pageQuery({
      status: ticketStatus.optional(),
      category: ticketCategory.optional(),
      assigneeId: z.uuid().optional().meta({ description: 'Tickets assigned to this admin' }),
      accountId: z.uuid().optional().meta({ description: 'Tickets of this customer' }),
      unassigned: z.enum(['true', 'false']).optional().meta({ description: 'true: only tickets nobody is assigned to' }),
    }),
    handler: async ({ query }) => {
      const qb = tickets().createQueryBuilder('t').where('TRUE');
      if (query.status) qb.andWhere('t.status = :status', { status: query.status });
      if (query.category) qb.andWhere('t.category = :category', { category: query.category });
      if (query.assigneeId) qb.andWhere('t.assignee_id = :assignee', { assignee: query.assigneeId });
      if (query.accountId) qb.andWhere('t.account_id = :account', { account: query.accountId });
      if (query.unassigned === 'true') qb.andWhere('t.assignee_id IS NULL');
      const page = await pager().page(qb, query, NEWEST_FIRST);
      return { body: { tickets: page.items.map(adminTicketView), nextCursor: page.nextCursor } };
    },
  });

  r.route({
    method: 'get', path: '/api/admin/support/tickets/:id', summary: 'A ticket with its thread and server snapshot', auth: 'admin', tags: ['admin', 'support'],
    operationId: 'adminGetSupportTicket', responses: { 200: z.object({ ticket: adminTicketSchema, messages: z.array(adminMessageSchema) }) }, params: idParam,
    handler: async ({ params }) => {
      const ticket = await tickets().findOneBy({ id: params.id });
      if (!ticket) throw new NotFoundError('Ticket');
      return { body: { ticket: adminTicketView(ticket), messages: (await desk.thread(ticket.id)).map(adminMessageView) } };
    },
  });

  r.route({
    method: 'patch', path: '/api/admin/support/tickets/:id', summary: 'Change a ticket\'s status or assignee', auth: 'admin', tags: ['admin', 'support'],
    operationId: 'adminUpdateSupportTicket', responses: { 200: z.object({ ticket: adminTicketSchema }) }, params: idParam,
    body: z.object({
      status: ticketStatus.optional(),
      assigneeId: z.uuid().nullable().optional().meta({ description: 'An admin account, or null to unassign' }),
    }).strict(),
    handler: async ({ params, body: patch }) => {
      const ticket = await tickets().findOneBy({ id: params.id });
      if (!ticket) throw new NotFoundError('Ticket');
      if (patch.status !== undefined) ticket.status = patch.status;
      if (patch.assigneeId !== undefined) ticket.assigneeId = patch.assigneeId;
      await tickets().save(ticket);
      return { body: { ticket: adminTicketView(ticket) } };
    },
  });
}
