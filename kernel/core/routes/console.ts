import { z } from 'zod';
import type { ApiRouter, EnforcementState } from '../../api';
import { assertMayMutate } from '../billing-state';
import { CONSOLE_TICKET } from '../console/gateway';
import type { KernelUpgradeTickets } from '../upgrades/tickets';
import type { InstanceService } from '../operations/instances';

export function consoleRoutes(r: ApiRouter, deps: { instances: InstanceService; tickets: KernelUpgradeTickets; billingState(accountId: string): Promise<EnforcementState> }): void {
  r.route({
    method: 'post', path: '/api/servers/:id/console/ticket', summary: 'A single-use ticket (~30 s) to open this server’s console WebSocket', auth: 'user', tags: ['console'],
    operationId: 'createConsoleTicket', errors: [402],
    params: z.object({ id: z.uuid() }),
    responses: { 200: z.object({ ticket: z.string(), expiresIn: z.number().meta({ description: 'Seconds' }) }) },
    handler: async ({ params, account, sessionId }) => {
      const instance = await deps.instances.owned(account, params.id);
      assertMayMutate(await deps.billingState(account.id), 'mutation');
      const ticket = await deps.tickets.issue({ purpose: CONSOLE_TICKET, accountId: account.id, instanceId: instance.id, sessionId, role: account.role });
      return { body: { ticket, expiresIn: deps.tickets.ttlSeconds } };
    },
  });
}

/** The console protocol as API.md states it, shown on the WebSocket route of the document. */
const CONSOLE_PROTOCOL = [
  'Upgrades to a WebSocket bridged to the server\'s terminal. The ticket comes from POST …/console/ticket',
  '(single use, about 30 s, bound to this server); the Origin must be one of console.allowedOrigins.',
  'Without a subprotocol, text frames go both ways as raw terminal text.',
  'With `Sec-WebSocket-Protocol: zpack.console.v1`, every frame is JSON:',
  'client → server `{type:"input",data}`, `{type:"resize",cols,rows}`, `{type:"signal",name}`;',
  'server → client `{type:"output",data}` (terminal bytes as sent: CRLF, partial lines), `{type:"status",state}`,',
  '`{type:"stats",cpuPercent,memoryBytes,players}`, `{type:"exit",code,signal}`, `{type:"expiring",inSeconds}`.',
  'Close codes: 4401 the login session ended, 4402 the account is suspended, 4410 the server was deleted,',
  '4408 a peer stopped answering pings, 4504 the agent is unreachable, 1009 a frame was too big.',
].join('\n');

/** The console WebSocket itself is served by the upgrade dispatcher; this puts it in the document. */
export function consoleSocketDoc(r: ApiRouter): void {
  for (const [prefix, operationId] of [['/api/servers', 'openConsole'], ['/api/game/servers', 'openConsoleCompat']]) {
    r.socket({
      path: `${prefix}/:id/console`, operationId, auth: 'ticket', tags: ['console'],
      summary: 'The server console (WebSocket)', description: CONSOLE_PROTOCOL,
      params: z.object({ id: z.uuid() }),
      query: z.object({ ticket: z.string().meta({ description: 'From POST /api/servers/{id}/console/ticket' }) }),
    });
  }
}
