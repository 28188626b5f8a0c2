import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { InstanceAgent, OperationInProgressError } from '../../api';
import type { ApiRouter, EnforcementState, InstanceView, PowerAction } from '../../api';
import { CrashReport, Instance } from '../entities';
import type { AgentStatusCache } from '../operations/status-cache';
import { guardMutation } from '../billing-state';
import { fromAgentError } from '../files/agent-failures';
import type { InstanceService } from '../operations/instances';
import { pageQuery, pageRows, paged, since } from '../http/paging';
import type { KernelInstancePower } from '../operations/power';
import { crashSchema } from './schemas';

interface Deps {
  ds: DataSource;
  instances: InstanceService;
  agent: () => InstanceAgent;
  /** The one place power changes (also used by billing suspension and restore). */
  power: KernelInstancePower;
  billingState(accountId: string): Promise<EnforcementState>;
  /** Single-flight, short-lived agent status per server: many readers, one agent call. */
  statusCache: AgentStatusCache;
}

const idParam = z.object({ id: z.uuid() });

/**
 * Power, as a route and a schedule task ask it: refused while an operation runs on the server (409)
 * and, for start and restart, while the owner is suspended (402).
 */
export async function powerServer(deps: Pick<Deps, 'ds' | 'instances' | 'power' | 'billingState'>, instance: InstanceView, action: PowerAction): Promise<void> {
  const active = await deps.instances.activeOperation(instance.id);
  if (active) throw new OperationInProgressError(active.id);
  if (action === 'start' || action === 'restart') {
    await guardMutation(deps.ds, instance.ownerId, await deps.billingState(instance.ownerId), 'mutation', `power.${action}`, instance.id);
  }
  await deps.power.applyTo(instance, action);
}

const resources = z.object({
  cpuPercent: z.number(), memoryBytes: z.number(), memoryLimitBytes: z.number().nullable(), diskBytes: z.number().nullable(),
  networkRxBytes: z.number().nullable(), networkTxBytes: z.number().nullable(),
  players: z.object({ online: z.number().int(), max: z.number().int().nullable() }), uptimeSeconds: z.number().nullable(),
});

export function serverActionRoutes(r: ApiRouter, deps: Deps): void {
  r.route({
    method: 'post', path: '/api/servers/:id/power', summary: 'Start, stop, restart or kill the server process', auth: 'user', tags: ['instances'],
    operationId: 'powerServer', errors: [402, 409, 502],
    responses: { 202: z.object({ action: z.enum(['start', 'stop', 'restart', 'kill']), state: z.enum(['running', 'stopped']) }) },
    params: idParam,
    body: z.object({ action: z.enum(['start', 'stop', 'restart', 'kill']) }),
    server: { permission: 'power', activity: 'server.power' },
    handler: async ({ body, server: instance }) => {
      await powerServer(deps, instance, body.action);
      const stopping = body.action === 'stop' || body.action === 'kill';
      return { status: 202, body: { action: body.action, state: stopping ? 'stopped' as const : 'running' as const } };
    },
  });

  r.route({
    method: 'get', path: '/api/servers/:id/crashes', summary: 'Crash reports, newest first', auth: 'user', tags: ['instances'],
    operationId: 'listCrashes', responses: { 200: paged({ crashes: z.array(crashSchema) }) },
    params: idParam, server: { permission: 'view' },
    query: pageQuery({ since: since.optional().meta({ description: 'Only crashes at or after this instant' }) }),
    handler: async ({ query, server: instance }) => {
      const qb = deps.ds.getRepository(CrashReport).createQueryBuilder('c').where('c.instance_id = :id', { id: instance.id });
      if (query.since) qb.andWhere('c.at >= :since', { since: query.since });
      const page = await pageRows(qb, query, { column: 'at', direction: 'DESC' });
      return {
        body: {
          crashes: page.items.map((c) => ({
            id: c.id, crashedAt: c.at, exitCode: c.exitCode, signal: c.signal, uptimeSeconds: c.uptimeSeconds, classification: c.classification, culprit: c.culprit,
            logTail: c.logTail, supervisorAction: c.supervisorAction, restartAt: c.restartAt,
          })),
          nextCursor: page.nextCursor,
        },
      };
    },
  });

  r.route({
    method: 'get', path: '/api/servers/:id/resources', summary: 'CPU, memory, disk, network, players and uptime, from the agent', auth: 'user', tags: ['instances'],
    description: 'The figures the console\'s `stats` frames carry, read through a short single-flight cache of the agent\'s status.',
    operationId: 'getServerResources', responses: { 200: resources }, errors: [502],
    params: idParam, server: { permission: 'view' },
    handler: async ({ server }) => {
      const status = await deps.statusCache.get(server.id, () => deps.agent().status(server)).catch((err: unknown) => { throw fromAgentError(err); });
      return { body: resourcesOf(status) };
    },
  });
}

/** The agent's /status `resources` in our shape; figures the agent does not report are null. */
function resourcesOf(status: Record<string, unknown>): z.input<typeof resources> {
  const r = (status.resources ?? {}) as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const players = (r.players ?? {}) as Record<string, unknown>;
  return {
    cpuPercent: num(r.cpuPercent) ?? 0, memoryBytes: num(r.memoryBytes) ?? 0, memoryLimitBytes: num(r.memoryLimitBytes), diskBytes: num(r.diskBytes),
    networkRxBytes: num(r.networkRxBytes), networkTxBytes: num(r.networkTxBytes),
    players: { online: num(players.online) ?? 0, max: num(players.max) }, uptimeSeconds: num(status.uptimeSeconds),
  };
}
