import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { ConflictError, InvalidRequestError, NotFoundError, SERVER_PERMISSIONS, nullableTimestamp, timestamp } from '../../api';
import type { ActivityLog, ApiRouter, Notifications } from '../../api';
import { Instance, Subuser } from '../entities';
import { normaliseEmail } from '../auth/auth-service';
import { pageQuery, pageRows, paged } from '../http/paging';
import type { CloseOrder } from '../console/gateway';
import { rateLimitHeaders, type RateLimiter, type Window } from '../auth/rate-limit';
import { CLOSE } from '../console/bridge';

interface Deps {
  ds: DataSource;
  notifications: Notifications;
  activity: ActivityLog;
  /** Closes consoles on every API process. */
  closeConsoles(order: CloseOrder): Promise<void>;
  publicUrl: string;
  /** Counts the invitations each account sends: every one is a mail to an address the inviter chose. */
  limiter: RateLimiter;
  invitationLimit: Window;
}

const RATE_LIMIT = {
  'RateLimit-Limit': 'Invitations this account may send in the current window',
  'RateLimit-Remaining': 'Invitations left in the current window (0 on a 429)',
  'RateLimit-Reset': 'Seconds until the window starts afresh',
};

const permissions = z.array(z.enum(SERVER_PERMISSIONS)).max(SERVER_PERMISSIONS.length).transform((p) => [...new Set(p)])
  .meta({ description: `Any of ${SERVER_PERMISSIONS.join(', ')}` });
const subuserSchema = z.object({
  id: z.uuid(), email: z.string(), accountId: z.uuid().nullable(), permissions: z.array(z.enum(SERVER_PERMISSIONS)),
  state: z.enum(['invited', 'accepted']), createdAt: timestamp(), acceptedAt: nullableTimestamp(),
}).meta({ id: 'Subuser' });
const invitationSchema = z.object({
  id: z.uuid(), server: z.object({ id: z.uuid(), name: z.string() }), permissions: z.array(z.enum(SERVER_PERMISSIONS)), createdAt: timestamp(),
}).meta({ id: 'Invitation' });
const subuserParams = z.object({ id: z.uuid(), subuserId: z.uuid() });

const view = (s: Subuser) => ({
  id: s.id, email: s.email, accountId: s.accountId, permissions: s.permissions, state: s.acceptedAt ? 'accepted' as const : 'invited' as const,
  createdAt: s.createdAt, acceptedAt: s.acceptedAt,
});

/**
 * Sharing a server: the owner invites by email, the invitee accepts (or declines) from their own
 * account, and from then on Tokens.Access grants them the listed permissions. Only the owner
 * manages subusers: a subuser changing their own grant is refused (403).
 */
export function sharingRoutes(r: ApiRouter, deps: Deps): void {
  const repo = () => deps.ds.getRepository(Subuser);
  const find = async (instanceId: string, id: string) => {
    const found = await repo().findOneBy({ id, instanceId });
    if (!found) throw new NotFoundError('Subuser');
    return found;
  };

  r.route({
    method: 'get', path: '/api/servers/:id/subusers', summary: 'The accounts this server is shared with, and pending invitations', auth: 'user', tags: ['sharing'],
    operationId: 'listSubusers', responses: { 200: paged({ subusers: z.array(subuserSchema) }) },
    params: z.object({ id: z.uuid() }), query: pageQuery({}), server: { permission: 'owner' },
    handler: async ({ query, server }) => {
      const page = await pageRows(repo().createQueryBuilder('s').where('s.instance_id = :i', { i: server.id }), query, { column: 'created_at', direction: 'ASC' });
      return { body: { subusers: page.items.map(view), nextCursor: page.nextCursor } };
    },
  });

  r.route({
    method: 'post', path: '/api/servers/:id/subusers', summary: 'Share the server: an invitation is emailed', auth: 'user', tags: ['sharing'],
    operationId: 'createSubuser', responses: { 201: z.object({ subuser: subuserSchema }) }, errors: [409, 429], responseHeaders: RATE_LIMIT,
    params: z.object({ id: z.uuid() }),
    body: z.object({ email: z.email().max(254), permissions }).strict(),
    server: { permission: 'owner', activity: 'subuser.create' },
    handler: async ({ body, account, server, koa }) => {
      const email = normaliseEmail(body.email);
      if (email === normaliseEmail(account.email)) {
        throw new InvalidRequestError('The owner already holds every permission', { fields: [{ path: 'body.email', message: 'is the owner' }] });
      }
      await deps.limiter.hit('invite-acct', account.id, deps.invitationLimit, rateLimitHeaders(koa));
      let row: Subuser;
      try {
        row = await repo().save(repo().create({ instanceId: server.id, email, permissions: body.permissions, invitedBy: account.id, accountId: null, acceptedAt: null }));
      } catch (err: any) {
        if (err?.driverError?.code === '23505') throw new ConflictError('This server is already shared with that address', { email });
        throw err;
      }
      await deps.notifications.sendToOwner({
        to: email, template: 'server_invitation', subject: `${account.email} shared a server with you`,
        text: `${account.email} invited you to manage the server "${server.name}" (${body.permissions.join(', ') || 'view only'}).\n\n` +
          `Sign in (or sign up with this address) at ${deps.publicUrl} and accept the invitation.`,
        data: { invitationId: row.id, serverId: server.id },
      });
      return { status: 201, body: { subuser: view(row) } };
    },
  });

  r.route({
    method: 'patch', path: '/api/servers/:id/subusers/:subuserId', summary: 'Change a subuser\'s permissions (at once; a console taken away closes)', auth: 'user', tags: ['sharing'],
    operationId: 'updateSubuser', responses: { 200: z.object({ subuser: subuserSchema }) },
    params: subuserParams, body: z.object({ permissions }).strict(),
    server: { permission: 'owner', activity: 'subuser.update' },
    handler: async ({ params, body, server }) => {
      const row = await find(server.id, params.subuserId);
      const lostConsole = row.permissions.includes('console') && !body.permissions.includes('console');
      row.permissions = body.permissions;
      await repo().save(row);
      if (lostConsole && row.accountId) {
        await deps.closeConsoles({ instanceId: server.id, accountId: row.accountId, all: true, code: CLOSE.accessRevoked, reason: 'console permission revoked' });
      }
      return { body: { subuser: view(row) } };
    },
  });

  r.route({
    method: 'delete', path: '/api/servers/:id/subusers/:subuserId', summary: 'Stop sharing with a subuser (their open consoles close)', auth: 'user', tags: ['sharing'],
    operationId: 'deleteSubuser', responses: { 204: null },
    params: subuserParams, server: { permission: 'owner', activity: 'subuser.delete' },
    handler: async ({ params, server }) => {
      const row = await find(server.id, params.subuserId);
      await repo().delete(row.id);
      if (row.accountId) await deps.closeConsoles({ instanceId: server.id, accountId: row.accountId, all: true, code: CLOSE.accessRevoked, reason: 'access revoked' });
      return { status: 204 };
    },
  });

  const invitations = (email: string) => repo().createQueryBuilder('s')
    .innerJoin(Instance, 'i', 'i.id = s.instance_id AND i.deleted_at IS NULL')
    .where('s.email = :email AND s.accepted_at IS NULL', { email: normaliseEmail(email) });

  r.route({
    method: 'get', path: '/api/me/invitations', summary: 'Servers others invited you to', auth: 'user', tags: ['sharing'],
    operationId: 'listInvitations', responses: { 200: paged({ invitations: z.array(invitationSchema) }) },
    query: pageQuery({}), scope: 'account.read',
    handler: async ({ query, account }) => {
      const page = await pageRows(invitations(account.email), query, { column: 'created_at', direction: 'ASC' });
      const names = new Map((await deps.ds.getRepository(Instance).find({ select: { id: true, name: true }, where: page.items.map((s) => ({ id: s.instanceId })) }))
        .map((i) => [i.id, i.name]));
      return {
        body: {
          invitations: page.items.map((s) => ({ id: s.id, server: { id: s.instanceId, name: names.get(s.instanceId) ?? '' }, permissions: s.permissions, createdAt: s.createdAt })),
          nextCursor: page.nextCursor,
        },
      };
    },
  });

  const pending = async (email: string, id: string) => {
    const row = await invitations(email).andWhere('s.id = :id', { id }).getOne();
    if (!row) throw new NotFoundError('Invitation');
    return row;
  };

  r.route({
    method: 'post', path: '/api/me/invitations/:id/accept', summary: 'Accept an invitation: the server shows among yours', auth: 'user', tags: ['sharing'],
    operationId: 'acceptInvitation', responses: { 200: z.object({ subuser: subuserSchema }) },
    params: z.object({ id: z.uuid() }),
    handler: async ({ params, account, ip }) => {
      const row = await pending(account.email, params.id);
      row.accountId = account.id;
      row.acceptedAt = new Date();
      await repo().save(row);
      await deps.activity.record({ instanceId: row.instanceId, event: 'subuser.accept', actor: { type: 'subuser', id: account.id }, ip, properties: { email: row.email } });
      return { body: { subuser: view(row) } };
    },
  });

  r.route({
    method: 'post', path: '/api/me/invitations/:id/decline', summary: 'Decline an invitation', auth: 'user', tags: ['sharing'],
    operationId: 'declineInvitation', responses: { 204: null },
    params: z.object({ id: z.uuid() }),
    handler: async ({ params, account, ip }) => {
      const row = await pending(account.email, params.id);
      await repo().delete(row.id);
      await deps.activity.record({ instanceId: row.instanceId, event: 'subuser.decline', actor: { type: 'user', id: account.id }, ip, properties: { email: row.email } });
      return { status: 204 };
    },
  });
}
