import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { InstanceAgent, OperationInProgressError } from '../../api';
import type { ApiRouter, EnforcementState } from '../../api';
import { CrashReport, Instance, instanceView } from '../entities';
import { guardMutation } from '../billing-state';
import { fromAgentError } from '../files/agent-failures';
import type { InstanceService } from '../operations/instances';
import { pageQuery, pageRows, paged, since } from '../http/paging';
import type { InstanceReadiness } from '../operations/readiness';
import { crashSchema } from './schemas';

interface Deps {
  ds: DataSource;
  instances: InstanceService;
  readiness: InstanceReadiness;
  agent: () => InstanceAgent;
  billingState(accountId: string): Promise<EnforcementState>;
}

const idParam = z.object({ id: z.uuid() });

export function serverActionRoutes(r: ApiRouter, deps: Deps): void {
  r.route({
    method: 'post', path: '/api/servers/:id/power', summary: 'Start, stop, restart or kill the server process', auth: 'user', tags: ['instances'],
    operationId: 'powerServer', errors: [402, 409, 502],
    responses: { 202: z.object({ action: z.enum(['start', 'stop', 'restart', 'kill']), state: z.enum(['running', 'stopped']) }) },
    params: idParam,
    body: z.object({ action: z.enum(['start', 'stop', 'restart', 'kill']) }),
    handler: async ({ params, body, account }) => {
      const instance = await deps.instances.owned(account, params.id);
      const active = await deps.instances.activeOperation(instance.id);
      if (active) throw new OperationInProgressError(active.id);
      if (body.action === 'start' || body.action === 'restart') {
        await guardMutation(deps.ds, account.id, await deps.billingState(account.id), 'mutation', `power.${body.action}`, instance.id);
      }
      // An agent that lost its container (not_provisioned) is a 409 the caller can act on, not our 502.
      await deps.agent().power(instanceView(instance), body.action).catch((err: unknown) => { throw fromAgentError(err); });
      const stopping = body.action === 'stop' || body.action === 'kill';
      await deps.ds.getRepository(Instance).update(instance.id, { state: stopping ? 'stopped' : 'running' });
      // Readiness is re-learnt from the agent's ready event.
      await deps.readiness.lost(instance.id, 'operator_stop');
      return { status: 202, body: { action: body.action, state: stopping ? 'stopped' as const : 'running' as const } };
    },
  });

  r.route({
    method: 'get', path: '/api/servers/:id/crashes', summary: 'Crash reports, newest first', auth: 'user', tags: ['instances'],
    operationId: 'listCrashes', responses: { 200: paged({ crashes: z.array(crashSchema) }) },
    params: idParam,
    query: pageQuery({ since: since.optional().meta({ description: 'Only crashes at or after this instant' }) }),
    handler: async ({ params, query, account }) => {
      const instance = await deps.instances.owned(account, params.id);
      const qb = deps.ds.getRepository(CrashReport).createQueryBuilder('c').where('c.instance_id = :id', { id: instance.id });
      if (query.since) qb.andWhere('c.at >= :since', { since: query.since });
      const page = await pageRows(qb, query, { column: 'at', direction: 'DESC' });
      return {
        body: {
          crashes: page.items.map((c) => ({
            id: c.id, crashedAt: c.at, exitCode: c.exitCode, signal: c.signal, uptimeSeconds: c.uptimeSeconds, classification: c.classification,
            logTail: c.logTail, supervisorAction: c.supervisorAction, restartAt: c.restartAt,
          })),
          nextCursor: page.nextCursor,
        },
      };
    },
  });
}
