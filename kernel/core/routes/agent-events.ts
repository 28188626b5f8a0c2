import { z } from 'zod';
import { addLogContext } from '../logger';
import type { Context } from 'koa';
import { CRASH_LOG_TAIL, UnauthenticatedError, nullableTimestamp } from '../../api';
import type { DataSource } from 'typeorm';
import type { AgentTokens, ApiRouter } from '../../api';
import { Instance } from '../entities';
import type { KernelInstanceDirectory } from '../operations/directory';
import type { InstanceReadiness } from '../operations/readiness';
import type { Supervisor } from '../supervision/supervisor';
import { bearerToken } from '../auth/tokens';
import { INT32_MAX, cutText, eventTime, int32 } from '../http/columns';

/** How routes answering to an instance's own agent token are shown in the document. */
export const AGENT_TOKEN = { scheme: 'agentToken', description: 'The per-instance token the control plane gave the agent when provisioning it' };
const acknowledged = z.object({
  accepted: z.boolean(),
  reason: z.literal('instance_deleted').optional(),
  crashId: z.uuid().optional(),
  classification: z.string().optional(),
  restartAt: nullableTimestamp().optional(),
});

const at = eventTime();
/**
 * The tail is informational, so it is trimmed rather than refused: the newest lines, each cut
 * short. The line count needs no cap of its own: the body limit bounds it.
 */
const logTail = z.array(z.string()).default([])
  .transform((lines) => lines.slice(-CRASH_LOG_TAIL.maxLines).map((line) => cutText(line, CRASH_LOG_TAIL.maxLineChars)));
const eventBody = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), instanceId: z.uuid(), at: at.optional() }),
  z.object({
    type: z.enum(['crash', 'exit']), instanceId: z.uuid(), at,
    exitCode: int32().nullable(), signal: z.string().max(20).nullable(),
    uptimeSeconds: z.number().min(0).max(INT32_MAX), logTail,
  }),
  z.object({ type: z.enum(['backup', 'restore']), instanceId: z.uuid(), at: at.optional(), state: z.string().max(40), id: z.string().max(100).optional() }),
]);

/** The agent token names its instance; the body may speak only for that one. */
async function agentGuard(koa: Context, tokens: AgentTokens): Promise<void> {
  const token = bearerToken(koa.get('authorization'));
  const instanceId = token ? tokens.identify(token) : null;
  if (!instanceId) throw new UnauthenticatedError('A valid agent token is required');
  koa.state.agentInstanceId = instanceId;
}

interface Deps {
  ds: DataSource;
  tokens: AgentTokens;
  directory: KernelInstanceDirectory;
  readiness: InstanceReadiness;
  supervisor: Supervisor;
}

export function agentEventRoutes(r: ApiRouter, deps: Deps): void {
  r.route({
    method: 'post', path: '/api/agent/events', summary: 'Events from an in-container agent (agent token only)', auth: AGENT_TOKEN, tags: ['agent'],
    operationId: 'reportAgentEvent', responses: { 202: acknowledged },
    guard: (koa) => agentGuard(koa, deps.tokens),
    body: eventBody,
    handler: async ({ body, koa }) => {
      if (body.instanceId !== koa.state.agentInstanceId) throw new UnauthenticatedError('The token belongs to another instance');
      addLogContext({ instanceId: body.instanceId });
      const instance = await deps.directory.get(body.instanceId);
      if (!instance) return { status: 202, body: { accepted: false, reason: 'instance_deleted' } };
      if (body.type === 'ready') {
        await deps.readiness.agentSaidReady(instance);
        return { status: 202, body: { accepted: true } };
      }
      if ('state' in body) {
        const event = { state: body.state, id: body.id ?? null, at: (body.at ?? new Date()).toISOString() };
        await deps.ds.getRepository(Instance).update(instance.id, body.type === 'backup' ? { lastBackup: event } : { lastRestore: event });
        return { status: 202, body: { accepted: true } };
      }
      const report = await deps.supervisor.crashed(instance.id, {
        at: body.at, exitCode: body.exitCode, signal: body.signal, uptimeSeconds: body.uptimeSeconds, logTail: body.logTail,
      });
      return { status: 202, body: { accepted: true, crashId: report.id, classification: report.classification, restartAt: report.restartAt } };
    },
  });
}
