import type { RawData, WebSocket } from 'ws';

export interface BridgeOptions {
  pingIntervalMs: number;
  highWaterBytes: number;
}

/**
 * Close codes the portal can act on; 4000–4999 are ours. The reason says which event it was.
 * - 4401 session revoked: logout, password reset, refresh-token reuse or a role change ended the
 *   authority the ticket was issued under; log in again (or refresh) and ask a new ticket.
 * - 4402 account suspended (billing) · 4408 a peer stopped answering pings
 * - 4410 server deleted · 4504 the agent's console did not answer in time
 */
export const CLOSE = {
  normal: 1000,
  agentGone: 1011,
  tooBig: 1009,
  agentUnreachable: 4504,
  instanceDeleted: 4410,
  sessionRevoked: 4401,
  suspended: 4402,
  deadPeer: 4408,
} as const;

/**
 * Pipes two sockets together with backpressure (a side is paused while the other's send
 * buffer is over the high-water mark) and liveness (a peer that misses a pong is closed).
 */
export function bridge(client: WebSocket, agent: WebSocket, opts: BridgeOptions): () => void {
  const pipe = (from: WebSocket, to: WebSocket) => {
    from.on('message', (data: RawData, isBinary: boolean) => {
      if (to.readyState !== to.OPEN) return;
      to.send(data, { binary: isBinary }, () => {
        if (from.isPaused && to.bufferedAmount < opts.highWaterBytes / 2) from.resume();
      });
      if (to.bufferedAmount > opts.highWaterBytes) from.pause();
    });
  };
  pipe(client, agent);
  pipe(agent, client);

  const alive = new Map<WebSocket, boolean>([[client, true], [agent, true]]);
  for (const ws of [client, agent]) ws.on('pong', () => alive.set(ws, true));
  const timer = setInterval(() => {
    for (const ws of [client, agent]) {
      if (!alive.get(ws)) return end(CLOSE.deadPeer, ws === client ? 'client stopped answering pings' : 'agent stopped answering pings');
      alive.set(ws, false);
      ws.ping();
    }
  }, opts.pingIntervalMs);
  timer.unref();

  let ended = false;
  const end = (code: number, reason: string) => {
    if (ended) return;
    ended = true;
    clearInterval(timer);
    closeQuietly(client, code, reason);
    closeQuietly(agent, CLOSE.normal, 'client left');
  };
  client.on('close', () => end(CLOSE.normal, ''));
  agent.on('close', (code: number, reason: Buffer) => {
    if (ended) return;
    ended = true;
    clearInterval(timer);
    closeQuietly(client, code === 1000 || code === 1001 ? code : CLOSE.agentGone, reason.toString() || 'agent console closed');
  });
  client.on('error', () => end(CLOSE.normal, ''));
  agent.on('error', () => end(CLOSE.agentGone, 'agent console failed'));
  return () => end(CLOSE.normal, 'closing');
}

export function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === ws.CLOSED || ws.readyState === ws.CLOSING) return;
  // A paused socket could not read the peer's close frame, and the handshake would stall.
  if (ws.isPaused) ws.resume();
  try {
    ws.close(code, reason.slice(0, 120));
  } catch {
    ws.terminate();
  }
  // A peer that never answers the close handshake is cut off.
  setTimeout(() => ws.readyState !== ws.CLOSED && ws.terminate(), 5000).unref();
}
