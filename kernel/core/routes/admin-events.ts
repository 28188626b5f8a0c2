import { streamed, type ApiRouter } from '../../api';
import type { FleetEventStreams } from '../operations/fleet-events';

export function adminEventRoutes(r: ApiRouter, { streams }: { streams: FleetEventStreams }): void {
  r.route({
    method: 'get', path: '/api/admin/events', summary: 'Changes to any server, as server-sent events, for the operator console', auth: 'admin', tags: ['admin'],
    operationId: 'adminStreamFleetEvents',
    description: 'A `server` event whenever a server row changes after the stream opened (created, new state or node, deleted): '
      + '`data` is `{id, state, node, deleted, updatedAt}`. Comment lines keep a quiet stream open; it lasts until the client leaves.',
    responses: { 200: streamed('text/event-stream', 'Server-sent events (`server`)') },
    handler: async ({ koa }) => {
      koa.req.socket.setNoDelay(true);
      return {
        body: streams.open(),
        headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', 'X-Accel-Buffering': 'no' },
      };
    },
  });
}
