import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { timestamp } from '../../api';
import type { ApiRouter } from '../../api';
import type { Logger } from 'pino';
import { audit } from '../audit';
import { MaintenanceWindow } from '../entities';
import { pageQuery, pageRows, paged } from '../http/paging';
import type { MaintenanceSchedule } from '../maintenance';

const scope = z.union([
  z.literal('fleet').meta({ description: 'Every node' }),
  z.object({ node: z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/) }).strict().meta({ description: 'One node, by name' }),
]);
const windowSchema = z.object({
  id: z.uuid(),
  scope,
  startsAt: timestamp(),
  endsAt: timestamp(),
  message: z.string(),
  createdAt: timestamp(),
});
const view = (w: MaintenanceWindow) => ({
  id: w.id, scope: w.node === null ? 'fleet' as const : { node: w.node }, startsAt: w.startsAt, endsAt: w.endsAt, message: w.message, createdAt: w.createdAt,
});
const instant = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
const clean = (s: string) => s.replace(/[\u0000-\u0008\u000B-\u001F\u007F]/g, '').trim();

export function maintenanceRoutes(r: ApiRouter, { ds, schedule, logger }: { ds: DataSource; schedule: MaintenanceSchedule; logger: Logger }): void {
  r.route({
    method: 'post', path: '/api/admin/maintenance', summary: 'Schedule a maintenance window on a node or the fleet', auth: 'admin', tags: ['admin'],
    operationId: 'adminScheduleMaintenance', responses: { 201: z.object({ window: windowSchema }) },
    description: 'Affected customers get an announcement and an email `maintenance.noticeHours` before it starts. During it no new ' +
      'server is placed on the node, and crashed servers there are recorded but not restarted.',
    body: z.object({
      scope,
      startsAt: instant,
      endsAt: instant,
      message: z.string().min(1).max(2000),
    }).strict().refine((b) => b.endsAt > b.startsAt, { message: 'must be after startsAt', path: ['endsAt'] }),
    handler: async ({ body, account }) => {
      const w = await schedule.schedule({
        node: body.scope === 'fleet' ? null : body.scope.node, startsAt: body.startsAt, endsAt: body.endsAt, message: clean(body.message),
      }, account.id);
      await audit(ds.manager, account.id, 'admin.maintenance.schedule', w.id, { node: w.node, startsAt: w.startsAt, endsAt: w.endsAt });
      // A window that starts within the notice period is announced now rather than at the next check.
      void schedule.notices().catch((err) => logger.warn({ err }, 'maintenance notices failed'));
      return { status: 201, body: { window: view(w) } };
    },
  });

  r.route({
    method: 'get', path: '/api/admin/maintenance', summary: 'Maintenance windows, latest start first', auth: 'admin', tags: ['admin'],
    operationId: 'adminListMaintenance', responses: { 200: paged({ windows: z.array(windowSchema) }) },
    query: pageQuery({}),
    handler: async ({ query }) => {
      const page = await pageRows(ds.getRepository(MaintenanceWindow).createQueryBuilder('w').where('TRUE'), query, { column: 'starts_at', direction: 'DESC' });
      return { body: { windows: page.items.map(view), nextCursor: page.nextCursor } };
    },
  });
}
