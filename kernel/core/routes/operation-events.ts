import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { NotFoundError } from '../../api';
import type { ApiRouter } from '../../api';
import { ProvisioningOperation } from '../entities';
import type { OperationEventStreams } from '../operations/event-streams';

export function operationEventRoutes(r: ApiRouter, { ds, streams }: { ds: DataSource; streams: OperationEventStreams }): void {
  r.route({
    method: 'get', path: '/api/operations/:id/events', summary: 'One of your operations’ phase changes as server-sent events, until it ends', auth: 'user', tags: ['instances'],
    params: z.object({ id: z.uuid() }),
    handler: async ({ params, account, koa }) => {
      const load = () => ds.getRepository(ProvisioningOperation).findOneBy({ id: params.id, accountId: account.id });
      const first = await load();
      if (!first) throw new NotFoundError('Operation');
      // Sent at once, with no buffering on the way (nginx reads X-Accel-Buffering).
      koa.req.socket.setNoDelay(true);
      return {
        body: streams.open(first, load),
        headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', 'X-Accel-Buffering': 'no' },
      };
    },
  });
}
