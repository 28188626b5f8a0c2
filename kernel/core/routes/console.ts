import { z } from 'zod';
import type { ApiRouter, EnforcementState } from '../../api';
import { assertMayMutate } from '../billing-state';
import { CONSOLE_TICKET } from '../console/gateway';
import type { KernelUpgradeTickets } from '../upgrades/tickets';
import type { InstanceService } from '../operations/instances';

export function consoleRoutes(r: ApiRouter, deps: { instances: InstanceService; tickets: KernelUpgradeTickets; billingState(accountId: string): Promise<EnforcementState> }): void {
  r.route({
    method: 'post', path: '/api/servers/:id/console/ticket', summary: 'A single-use ticket (~30 s) to open this server’s console WebSocket', auth: 'user', tags: ['console'],
    params: z.object({ id: z.uuid() }),
    response: z.object({ ticket: z.string(), expiresIn: z.number() }),
    handler: async ({ params, account, sessionId }) => {
      const instance = await deps.instances.owned(account, params.id);
      assertMayMutate(await deps.billingState(account.id), 'mutation');
      const ticket = await deps.tickets.issue({ purpose: CONSOLE_TICKET, accountId: account.id, instanceId: instance.id, sessionId, role: account.role });
      return { body: { ticket, expiresIn: deps.tickets.ttlSeconds } };
    },
  });
}
