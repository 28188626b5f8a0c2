import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import { consoleAgentFrame } from '../../api';
import type { ConsoleAgentFrame, ConsoleServerFrame, ConsoleStatsRequest } from '../../api';
import type { ConsoleFraming } from './framing';

export interface BridgeOptions {
  pingIntervalMs: number;
  highWaterBytes: number;
  statsIntervalMs: number;
  logger: Logger;
  /** Each line the client typed (its input up to Enter), e.g. for the activity log. */
  onCommand?(line: string): void;
}

/** Longest command line kept; a paste of a whole file is not a command. */
const COMMAND_LIMIT = 1000;

/**
 * Close codes the portal can act on; 4000–4999 are ours. The reason says which event it was.
 * - 4401 session revoked or expired: logout, password reset, refresh-token reuse, a role change
 *   or the session's expiry ended the authority the ticket was issued under; log in again (or
 *   refresh) and ask a new ticket.
 * - 4402 account suspended (billing) · 4408 a peer stopped answering pings
 * - 4403 the server's owner took away this account's access or its console permission
 * - 4410 server deleted · 4440 the console's lifetime (`console.maxLifetimeSeconds`) ended: ask a new ticket
 * - 4504 the agent's console did not answer in time
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
  lifetimeEnded: 4440,
  accessRevoked: 4403,
} as const;

/** The kernel's handle on a bridged console. */
export interface ConsoleLink {
  /** Sends the client a notice of the kernel's own, if its protocol can carry it. */
  notify(frame: ConsoleServerFrame): void;
  end(code: number, reason: string): void;
}

/**
 * Bridges a client to the agent's PTY (which speaks zpack.console.v1), translating through the
 * client's framing. Backpressure: a side is paused while the other's send buffer is over the
 * high-water mark. Liveness: a peer that misses a pong is closed. A v1 client is sent stats, which
 * the bridge asks the agent for on open and every `statsIntervalMs`.
 */
export function bridge(client: WebSocket, agent: WebSocket, framing: ConsoleFraming, opts: BridgeOptions): ConsoleLink {
  const send = (from: WebSocket, to: WebSocket, text: string) => {
    if (to.readyState !== to.OPEN) return;
    to.send(text, () => {
      if (from.isPaused && to.bufferedAmount < opts.highWaterBytes / 2) from.resume();
    });
    if (to.bufferedAmount > opts.highWaterBytes) from.pause();
  };
  let typed = '';
  const typedLines = (data: string) => {
    for (const ch of data) {
      if (ch === '\r' || ch === '\n') {
        if (typed.trim()) opts.onCommand!(typed.trim());
        typed = '';
      } else if (ch === '\x7f' || ch === '\b') typed = typed.slice(0, -1);
      else if (typed.length < COMMAND_LIMIT && ch >= ' ') typed += ch;
    }
  };
  client.on('message', (data: RawData, isBinary: boolean) => {
    const { toAgent, reply } = framing.fromClient(data, isBinary);
    if (opts.onCommand && toAgent?.type === 'input') typedLines(toAgent.data);
    // A client that sends faster than it reads its error frames is the one paused.
    if (reply) send(client, client, reply);
    if (toAgent) send(client, agent, JSON.stringify(toAgent));
  });
  agent.on('message', (data: RawData) => {
    const text = String(data);
    const frame = parseAgentFrame(text);
    if (!frame) return opts.logger.warn({ bytes: text.length }, 'console frame from the agent dropped: not zpack.console.v1');
    for (const message of framing.fromAgent(frame, text)) send(agent, client, message);
  });

  const askStats = () => send(client, agent, JSON.stringify({ type: 'stats' } satisfies ConsoleStatsRequest));
  const stats = framing.wantsStats ? setInterval(askStats, opts.statsIntervalMs) : undefined;
  stats?.unref();
  if (framing.wantsStats) askStats();

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
  const stop = () => {
    ended = true;
    clearInterval(timer);
    clearInterval(stats);
  };
  const end = (code: number, reason: string) => {
    if (ended) return;
    stop();
    closeQuietly(client, code, reason);
    closeQuietly(agent, CLOSE.normal, 'client left');
  };
  client.on('close', () => end(CLOSE.normal, ''));
  agent.on('close', (code: number, reason: Buffer) => {
    if (ended) return;
    stop();
    closeQuietly(client, code === 1000 || code === 1001 ? code : CLOSE.agentGone, reason.toString() || 'agent console closed');
  });
  client.on('error', () => end(CLOSE.normal, ''));
  agent.on('error', () => end(CLOSE.agentGone, 'agent console failed'));
  return {
    notify: (frame) => {
      const text = framing.notice(frame);
      if (text) send(agent, client, text);
    },
    end,
  };
}

function parseAgentFrame(text: string): ConsoleAgentFrame | undefined {
  try {
    const json = JSON.parse(text);
    // Output is nearly all of the traffic: its one field is checked directly, the rest by the schema.
    if (json?.type === 'output' && typeof json.data === 'string') return { type: 'output', data: json.data };
    const parsed = consoleAgentFrame.safeParse(json);
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
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
