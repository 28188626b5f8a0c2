import { z } from 'zod';
import { nullableTimestamp, timestamp } from '../../../kernel/api';
import { TICKET_CATEGORIES, TICKET_STATUSES, type SupportTicket, type TicketMessage } from '../entities/ticket';

export const ticketStatus = z.enum(TICKET_STATUSES);
export const ticketCategory = z.enum(TICKET_CATEGORIES);

export const ticketSchema = z.object({
  id: z.uuid(),
  number: z.string().meta({ description: '<prefix>-YYYYMMDD-XXXX, e.g. ZLH-20261127-0001' }),
  subject: z.string(),
  category: ticketCategory,
  status: ticketStatus,
  serverId: z.uuid().nullable(),
  createdAt: timestamp(),
  updatedAt: timestamp(),
});
export const messageSchema = z.object({
  id: z.uuid(),
  authorRole: z.enum(['customer', 'staff']),
  body: z.string(),
  createdAt: timestamp(),
});
const snapshotSchema = z.object({
  serverId: z.uuid(),
  name: z.string(),
  type: z.string(),
  state: z.string(),
  node: z.string().nullable(),
  takenAt: timestamp(),
  lastCrash: z.object({ crashedAt: timestamp(), classification: z.string(), exitCode: z.number().nullable(), signal: z.string().nullable(), logTail: z.array(z.string()) }).nullable(),
  lastOperation: z.object({
    id: z.uuid(), kind: z.string(), state: z.string(), phase: z.string().nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(), updatedAt: timestamp(),
  }).nullable(),
}).meta({ description: 'The server as it was when the ticket was opened (read-only, for the operator)' });
export const adminTicketSchema = ticketSchema.extend({
  accountId: z.uuid(),
  email: z.string(),
  assigneeId: z.uuid().nullable(),
  snapshot: snapshotSchema.nullable(),
});
export const adminMessageSchema = messageSchema.extend({ authorId: z.uuid() });
export const maybeTimestamp = nullableTimestamp;

export const ticketView = (t: SupportTicket) => ({
  id: t.id, number: t.number, subject: t.subject, category: t.category as z.infer<typeof ticketCategory>, status: t.status,
  serverId: t.serverId, createdAt: t.createdAt, updatedAt: t.updatedAt,
});
export const adminTicketView = (t: SupportTicket) => ({ ...ticketView(t), accountId: t.accountId, email: t.email, assigneeId: t.assigneeId, snapshot: t.snapshot });
export const messageView = (m: TicketMessage) => ({ id: m.id, authorRole: m.authorRole, body: m.body, createdAt: m.createdAt });
export const adminMessageView = (m: TicketMessage) => ({ ...messageView(m), authorId: m.authorId });
