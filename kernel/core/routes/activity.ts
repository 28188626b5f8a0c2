import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { timestamp } from '../../api';
import type { ApiRouter } from '../../api';
import { ActivityEvent } from '../entities';
import { pageQuery, pageRows, paged } from '../http/paging';

const entry = z.object({
  id: z.uuid(), event: z.string(),
  actor: z.object({ type: z.enum(['user', 'subuser', 'apiKey', 'schedule', 'system']), id: z.string().nullable() }),
  ip: z.string().nullable(), at: timestamp(), properties: z.record(z.string(), z.unknown()),
  serverId: z.uuid().nullable(),
}).meta({ id: 'ActivityEntry' });
const query = pageQuery({
  event: z.string().max(100).regex(/^[A-Za-z0-9.*_-]+$/).optional().meta({ description: 'An event name, or a prefix ending in `*` (`files.*`)' }),
});
const view = (e: ActivityEvent) => ({
  id: e.id, event: e.event, actor: { type: e.actorType as z.infer<typeof entry>['actor']['type'], id: e.actorId }, ip: e.ip, at: e.createdAt,
  properties: e.properties, serverId: e.instanceId,
});

/** The activity log, newest first: a server's (who did what to it), and a caller's own across servers. */
export function activityRoutes(r: ApiRouter, deps: { ds: DataSource }): void {
  const list = async (where: string, params: Record<string, unknown>, q: z.infer<typeof query>) => {
    const qb = deps.ds.getRepository(ActivityEvent).createQueryBuilder('a').where(where, params);
    if (q.event?.endsWith('*')) qb.andWhere('a.event LIKE :event', { event: `${q.event.slice(0, -1).replace(/[%_]/g, '\\$&')}%` });
    else if (q.event) qb.andWhere('a.event = :event', { event: q.event });
    const page = await pageRows(qb, q, { column: 'created_at', direction: 'DESC' });
    return { body: { activity: page.items.map(view), nextCursor: page.nextCursor } };
  };

  r.route({
    method: 'get', path: '/api/servers/:id/activity', summary: 'What was done to this server, by whom and from where, newest first', auth: 'user', tags: ['activity'],
    operationId: 'listServerActivity', responses: { 200: paged({ activity: z.array(entry) }) },
    params: z.object({ id: z.uuid() }), query, server: { permission: 'activity' },
    handler: ({ query: q, server }) => list('a.instance_id = :i', { i: server.id }, q),
  });

  r.route({
    method: 'get', path: '/api/me/activity', summary: 'What you did (and your keys did), newest first', auth: 'user', tags: ['activity'],
    operationId: 'listMyActivity', responses: { 200: paged({ activity: z.array(entry) }) },
    query, scope: 'account.read',
    handler: ({ query: q, account }) => list('a.account_id = :a', { a: account.id }, q),
  });
}
