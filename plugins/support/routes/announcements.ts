import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { InvalidRequestError, NotFoundError, nullableTimestamp, pageQuery, paged, timestamp } from '../../../kernel/api';
import type { ApiRouter, Clock, InstanceDirectory, Pager } from '../../../kernel/api';
import { Announcement } from '../entities/announcement';
import { cleanLine, cleanText } from '../hygiene';

interface Deps {
  ds: () => DataSource;
  clock: () => Clock;
  directory: () => InstanceDirectory;
  pager: () => Pager;
}

const severity = z.enum(['info', 'warning', 'critical']);
const scope = z.enum(['global', 'account', 'server']);
const base = {
  id: z.uuid(),
  scope,
  serverId: z.uuid().nullable(),
  severity,
  title: z.string(),
  message: z.string(),
  startsAt: timestamp(),
  expiresAt: nullableTimestamp(),
};
const announcementSchema = z.object({ ...base, dismissed: z.boolean() });
const adminAnnouncementSchema = z.object({ ...base, key: z.string().nullable(), accountId: z.uuid().nullable(), createdAt: timestamp(), updatedAt: timestamp() });
const view = (a: Announcement) => ({
  id: a.id, scope: a.scope, serverId: a.serverId, severity: a.severity, title: a.title, message: a.message, startsAt: a.startsAt, expiresAt: a.expiresAt,
});
const adminView = (a: Announcement) => ({ ...view(a), key: a.key, accountId: a.accountId, createdAt: a.createdAt, updatedAt: a.updatedAt });
const instant = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
const title = z.string().max(200).transform(cleanLine).pipe(z.string().min(1));
const message = z.string().max(4000).transform(cleanText).pipe(z.string().min(1));
const idParam = z.object({ id: z.uuid() });
const LATEST_FIRST = { column: 'starts_at', direction: 'DESC' } as const;

/** What a user sees now: global ones, and those of their account or of a server it holds, started and not expired. */
const VISIBLE = `(a.scope = 'global' OR a.account_id = :me) AND a.starts_at <= :now AND (a.expires_at IS NULL OR a.expires_at > :now)`;

export function announcementRoutes(r: ApiRouter, { ds, clock, directory, pager }: Deps): void {
  const repo = () => ds().getRepository(Announcement);

  r.route({
    method: 'get', path: '/api/announcements', summary: 'Announcements for you now, latest first', auth: 'user', tags: ['support'],
    operationId: 'listAnnouncements', responses: { 200: paged({ announcements: z.array(announcementSchema) }) },
    description: 'Global ones, your account\'s (billing …) and your servers\' (maintenance …), each with whether you dismissed it.',
    query: pageQuery({}),
    handler: async ({ account, query }) => {
      const qb = repo().createQueryBuilder('a').where(VISIBLE, { me: account.id, now: clock().now() })
        .addSelect(`EXISTS (SELECT 1 FROM support_announcement_dismissal d WHERE d.announcement_id = a.id AND d.account_id = :me)`, 'dismissed');
      const page = await pager().page(qb, query, LATEST_FIRST, (row) => ({
        ...view({
          id: row.a_id, scope: row.a_scope, serverId: row.a_server_id, severity: row.a_severity, title: row.a_title, message: row.a_message,
          startsAt: row.a_starts_at, expiresAt: row.a_expires_at,
        } as Announcement),
        dismissed: row.dismissed === true,
      }));
      return { body: { announcements: page.items, nextCursor: page.nextCursor } };
    },
  });

  r.route({
    method: 'post', path: '/api/announcements/:id/dismiss', summary: 'Dismiss an announcement (for you only)', auth: 'user', tags: ['support'],
    operationId: 'dismissAnnouncement', responses: { 204: null }, params: idParam,
    handler: async ({ account, params }) => {
      const visible = await repo().createQueryBuilder('a').where('a.id = :id', { id: params.id }).andWhere(VISIBLE, { me: account.id, now: clock().now() }).getExists();
      if (!visible) throw new NotFoundError('Announcement');
      await ds().query(`INSERT INTO support_announcement_dismissal (announcement_id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [params.id, account.id]);
      return { status: 204 };
    },
  });

  r.route({
    method: 'get', path: '/api/admin/announcements', summary: 'Every announcement, latest start first', auth: 'admin', tags: ['admin', 'support'],
    operationId: 'adminListAnnouncements', responses: { 200: paged({ announcements: z.array(adminAnnouncementSchema) }) },
    query: pageQuery({ scope: scope.optional(), active: z.enum(['true', 'false']).optional().meta({ description: 'true: only those shown now' }) }),
    handler: async ({ query }) => {
      const qb = repo().createQueryBuilder('a').where('TRUE');
      if (query.scope) qb.andWhere('a.scope = :scope', { scope: query.scope });
      if (query.active === 'true') qb.andWhere('a.starts_at <= :now AND (a.expires_at IS NULL OR a.expires_at > :now)', { now: clock().now() });
      const page = await pager().page(qb, query, LATEST_FIRST);
      return { body: { announcements: page.items.map(adminView), nextCursor: page.nextCursor } };
    },
  });

  r.route({
    method: 'post', path: '/api/admin/announcements', summary: 'Announce to everyone, one account or one server\'s holder', auth: 'admin', tags: ['admin', 'support'],
    operationId: 'adminCreateAnnouncement', responses: { 201: z.object({ announcement: adminAnnouncementSchema }) }, errors: [404],
    body: z.object({
      scope,
      accountId: z.uuid().optional().meta({ description: 'Required for scope account' }),
      serverId: z.uuid().optional().meta({ description: 'Required for scope server: its owner sees it' }),
      severity: severity.default('info'),
      title,
      message,
      startsAt: instant.optional(),
      expiresAt: instant.nullable().optional(),
    }).strict(),
    handler: async ({ account, body }) => {
      let accountId: string | null = null;
      if (body.scope === 'account') {
        if (!body.accountId) throw new InvalidRequestError('accountId is required for scope account', { fields: [{ path: 'body.accountId', message: 'is required' }] });
        accountId = body.accountId;
      }
      if (body.scope === 'server') {
        if (!body.serverId) throw new InvalidRequestError('serverId is required for scope server', { fields: [{ path: 'body.serverId', message: 'is required' }] });
        const server = await directory().get(body.serverId);
        if (!server) throw new NotFoundError('Server');
        accountId = server.ownerId;
      }
      const saved = await repo().save(repo().create({
        key: null, scope: body.scope, accountId, serverId: body.scope === 'server' ? body.serverId! : null, severity: body.severity,
        title: body.title, message: body.message, startsAt: body.startsAt ?? clock().now(), expiresAt: body.expiresAt ?? null, createdBy: account.id,
      }));
      return { status: 201, body: { announcement: adminView(saved) } };
    },
  });

  r.route({
    method: 'patch', path: '/api/admin/announcements/:id', summary: 'Edit an announcement', auth: 'admin', tags: ['admin', 'support'],
    operationId: 'adminUpdateAnnouncement', responses: { 200: z.object({ announcement: adminAnnouncementSchema }) }, params: idParam,
    body: z.object({
      severity: severity.optional(), title: title.optional(), message: message.optional(),
      startsAt: instant.optional(), expiresAt: instant.nullable().optional(),
    }).strict(),
    handler: async ({ params, body }) => {
      const a = await repo().findOneBy({ id: params.id });
      if (!a) throw new NotFoundError('Announcement');
      Object.assign(a, Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)));
      return { body: { announcement: adminView(await repo().save(a)) } };
    },
  });

  r.route({
    method: 'post', path: '/api/admin/announcements/:id/expire', summary: 'End an announcement now', auth: 'admin', tags: ['admin', 'support'],
    operationId: 'adminExpireAnnouncement', responses: { 200: z.object({ announcement: adminAnnouncementSchema }) }, params: idParam,
    handler: async ({ params }) => {
      const a = await repo().findOneBy({ id: params.id });
      if (!a) throw new NotFoundError('Announcement');
      const now = clock().now();
      if (!a.expiresAt || a.expiresAt > now) a.expiresAt = now;
      return { body: { announcement: adminView(await repo().save(a)) } };
    },
  });
}
