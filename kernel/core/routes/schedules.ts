import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { ForbiddenError, InvalidRequestError, NotFoundError, nullableTimestamp, timestamp } from '../../api';
import type { AccountView, ApiRouter, InstanceAccess, ServerPermission } from '../../api';
import { Schedule } from '../entities';
import type { KernelConfig } from '../config';
import { pageQuery, pageRows, paged } from '../http/paging';
import { cronProblem, isTimeZone, nextRun } from '../schedules/cron';
import type { ScheduleRunner } from '../schedules/runner';

const task = z.discriminatedUnion('action', [
  z.object({ action: z.literal('power'), payload: z.object({ action: z.enum(['start', 'stop', 'restart', 'kill']) }).strict() }),
  z.object({ action: z.literal('command'), payload: z.object({ command: z.string().trim().min(1).max(1000).regex(/^[^\r\n]*$/, 'one line') }).strict() }),
  z.object({ action: z.literal('backup'), payload: z.object({ name: z.string().trim().min(1).max(80).optional() }).strict().default({}) }),
]).and(z.object({
  delaySeconds: z.number().int().min(0).max(3600).default(0).meta({ description: 'Waited before this task, after the one before it' }),
  continueOnFailure: z.boolean().default(false),
}));
const fields = {
  name: z.string().trim().min(1).max(80),
  cron: z.string().trim().min(9).max(120).meta({ description: 'minute hour day month weekday, in `timezone`' }),
  timezone: z.string().max(64).refine(isTimeZone, 'is not a time zone (IANA name, e.g. Europe/Berlin)').default('UTC'),
  onlyWhenOnline: z.boolean().default(false),
  enabled: z.boolean().default(true),
  tasks: z.array(task).min(1).max(20),
};
const createBody = z.object(fields).strict();
const updateBody = z.object({
  name: fields.name.optional(), cron: fields.cron.optional(), timezone: z.string().max(64).refine(isTimeZone, 'is not a time zone').optional(),
  onlyWhenOnline: z.boolean().optional(), enabled: z.boolean().optional(), tasks: fields.tasks.optional(),
}).strict();

const scheduleSchema = z.object({
  id: z.uuid(), name: z.string(), cron: z.string(), timezone: z.string(), onlyWhenOnline: z.boolean(), enabled: z.boolean(),
  tasks: z.array(z.object({ action: z.enum(['power', 'command', 'backup']), payload: z.record(z.string(), z.unknown()), delaySeconds: z.number(), continueOnFailure: z.boolean() })),
  nextRunAt: nullableTimestamp(),
  lastResult: z.object({
    at: z.string(), outcome: z.enum(['succeeded', 'failed', 'skipped']), reason: z.string().optional(),
    tasks: z.array(z.object({ action: z.string(), ok: z.boolean(), error: z.string().optional() })).optional(),
  }).nullable(),
  createdAt: timestamp(), updatedAt: timestamp(),
}).meta({ id: 'Schedule' });

const view = (s: Schedule) => ({
  id: s.id, name: s.name, cron: s.cron, timezone: s.timezone, onlyWhenOnline: s.onlyWhenOnline, enabled: s.enabled, tasks: s.tasks,
  nextRunAt: s.enabled ? nextRun(s.cron, s.timezone) : null, lastResult: s.lastResult, createdAt: s.createdAt, updatedAt: s.updatedAt,
});
const params = z.object({ id: z.uuid(), scheduleId: z.uuid() });

/**
 * A task does later what its action does now: whoever writes, changes or runs a schedule must hold
 * the permission of each of its actions (and a key its scope), or `schedules` alone would type console
 * commands, switch power or make backups (rotating the oldest out) whenever it liked.
 */
type ScheduleTaskAction = z.infer<typeof task>['action'];
const PERMISSION_FOR_TASK: Record<ScheduleTaskAction, ServerPermission> = { command: 'console', power: 'power', backup: 'backups' };

/** Schedules of a server: cron in the owner's time zone, tasks in order, fired by BullMQ job schedulers (ScheduleRunner). */
export function scheduleRoutes(r: ApiRouter, deps: { ds: DataSource; runner: ScheduleRunner; config: KernelConfig; access: InstanceAccess }): void {
  const repo = () => deps.ds.getRepository(Schedule);
  const { minIntervalSeconds, maxPerServer } = deps.config.management.schedules;
  const checkCron = (cron: string, timezone: string) => {
    const problem = cronProblem(cron, timezone, minIntervalSeconds);
    if (problem) throw new InvalidRequestError(`The cron expression ${problem}`, { fields: [{ path: 'body.cron', message: problem }], minIntervalSeconds });
  };
  const mayWriteTasks = async (account: AccountView, instanceId: string, tasks: ReadonlyArray<{ action: ScheduleTaskAction }> | undefined) => {
    for (const action of new Set((tasks ?? []).map((t) => t.action))) await deps.access.require(account, instanceId, PERMISSION_FOR_TASK[action]);
  };
  const find = async (instanceId: string, id: string) => {
    const found = await repo().findOneBy({ id, instanceId });
    if (!found) throw new NotFoundError('Schedule');
    return found;
  };

  r.route({
    method: 'get', path: '/api/servers/:id/schedules', summary: 'The server\'s schedules with their next run and last result', auth: 'user', tags: ['schedules'],
    operationId: 'listSchedules', responses: { 200: paged({ schedules: z.array(scheduleSchema) }) },
    params: z.object({ id: z.uuid() }), query: pageQuery({}), server: { permission: 'schedules' },
    handler: async ({ query, server }) => {
      const page = await pageRows(repo().createQueryBuilder('s').where('s.instance_id = :i', { i: server.id }), query, { column: 'created_at', direction: 'ASC' });
      return { body: { schedules: page.items.map(view), nextCursor: page.nextCursor } };
    },
  });

  r.route({
    method: 'post', path: '/api/servers/:id/schedules', summary: 'Add a schedule (a cron firing more often than the minimum interval is 400)', auth: 'user', tags: ['schedules'],
    operationId: 'createSchedule', responses: { 201: z.object({ schedule: scheduleSchema }) }, errors: [402],
    params: z.object({ id: z.uuid() }), body: createBody,
    server: { permission: 'schedules', mutation: true, action: 'schedule.create', activity: 'schedule.create' },
    handler: async ({ body, account, server }) => {
      await mayWriteTasks(account, server.id, body.tasks);
      checkCron(body.cron, body.timezone);
      if ((await repo().countBy({ instanceId: server.id })) >= maxPerServer) throw new ForbiddenError(`A server keeps at most ${maxPerServer} schedules`);
      const schedule = await repo().save(repo().create({ ...body, instanceId: server.id, lastResult: null }));
      await deps.runner.sync(schedule);
      return { status: 201, body: { schedule: view(schedule) } };
    },
  });

  r.route({
    method: 'patch', path: '/api/servers/:id/schedules/:scheduleId', summary: 'Change a schedule', auth: 'user', tags: ['schedules'],
    operationId: 'updateSchedule', responses: { 200: z.object({ schedule: scheduleSchema }) }, errors: [402],
    params, body: updateBody,
    server: { permission: 'schedules', mutation: true, action: 'schedule.update', activity: 'schedule.update' },
    handler: async ({ params: p, body, account, server }) => {
      const schedule = await find(server.id, p.scheduleId);
      await mayWriteTasks(account, server.id, [...schedule.tasks, ...(body.tasks ?? [])]);
      Object.assign(schedule, Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)));
      checkCron(schedule.cron, schedule.timezone);
      await repo().save(schedule);
      await deps.runner.sync(schedule);
      return { body: { schedule: view(schedule) } };
    },
  });

  r.route({
    method: 'delete', path: '/api/servers/:id/schedules/:scheduleId', summary: 'Delete a schedule', auth: 'user', tags: ['schedules'],
    operationId: 'deleteSchedule', responses: { 204: null },
    params, server: { permission: 'schedules', activity: 'schedule.delete' },
    handler: async ({ params: p, server }) => {
      const schedule = await find(server.id, p.scheduleId);
      await deps.runner.remove(schedule.id);
      await repo().delete(schedule.id);
      return { status: 204 };
    },
  });

  r.route({
    method: 'post', path: '/api/servers/:id/schedules/:scheduleId/run', summary: 'Run a schedule now (202; its result shows as lastResult)', auth: 'user', tags: ['schedules'],
    operationId: 'runSchedule', responses: { 202: z.object({ schedule: scheduleSchema }) }, errors: [402],
    params, server: { permission: 'schedules', mutation: true, action: 'schedule.run', activity: 'schedule.runNow' },
    handler: async ({ params: p, account, server }) => {
      const schedule = await find(server.id, p.scheduleId);
      await mayWriteTasks(account, server.id, schedule.tasks);
      await deps.runner.runNow(schedule.id);
      return { status: 202, body: { schedule: view(schedule) } };
    },
  });
}
