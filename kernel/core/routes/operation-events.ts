import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { NotFoundError, streamed, type ApiRouter } from '../../api';
import { ProvisioningOperation } from '../entities';
import type { OperationEventStreams } from '../operations/event-streams';

export function operationEventRoutes(r: ApiRouter, { ds, streams }: { ds: DataSource; streams: OperationEventStreams }): void {
  r.route({
    method: 'get', path: '/api/operations/:id/events', summary: 'One of your operations’ phase changes as server-sent events, until it ends', auth: 'user', tags: ['instances'],
    operationId: 'streamOperationEvents',
    description: 'A `phase` event at once and at each change of state or phase, its `data` the Operation as GET /api/operations/{id} '
      + 'answers it; an `end` event (the same data) once the operation has succeeded, failed or gone stale, and the stream closes. '
      + 'Comment lines keep a quiet stream open.',
    responses: { 200: streamed('text/event-stream', 'Server-sent events (`phase`, then `end`), each `data` an Operation') },
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
