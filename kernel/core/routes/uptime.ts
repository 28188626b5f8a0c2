import { z } from 'zod';
import { nullableTimestamp, timestamp } from '../../api';
import type { ApiRouter, InstanceAccess } from '../../api';
import type { UptimeHistory } from '../uptime/history';

const report = z.object({
  days: z.array(z.object({
    date: z.string().meta({ description: 'UTC date, YYYY-MM-DD' }),
    uptimePercent: z.number().min(0).max(100).nullable().meta({ description: 'Ready time over observed time that day; null when unobserved' }),
  })),
  incidents: z.array(z.object({
    startedAt: timestamp(),
    endedAt: nullableTimestamp(),
    cause: z.string().meta({ description: 'A crash class (oom, nonzero_exit …), maintenance, suspended, operator_stop or unready' }),
  })),
});

export function uptimeRoutes(r: ApiRouter, deps: { access: InstanceAccess; history: UptimeHistory }): void {
  r.route({
    method: 'get', path: '/api/servers/:id/uptime', summary: 'Ready time per day and the incidents (crashes, maintenance, suspension, stops)', auth: 'user', tags: ['instances'],
    operationId: 'getServerUptime', responses: { 200: report }, server: { permission: 'view' },
    params: z.object({ id: z.uuid() }),
    query: z.object({ days: z.coerce.number().int().min(1).max(90).default(30).meta({ description: 'Days back, today included (1–90)' }) }),
    handler: async ({ query, server }) => {
      return { body: await deps.history.report(server, query.days) };
    },
  });
}
