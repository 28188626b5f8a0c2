import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { InstanceAgent, ZpackError } from '../../api';
import type { AccountView, EnforcementState, InstanceDirectory } from '../../api';
import type { KernelConfig } from '../config';
import { CLOSE, bridge, closeQuietly } from './bridge';
import type { ConsoleTickets } from './tickets';
import type { ConsoleRevocation } from '../auth/auth-service';
import { subscriberOf } from '../redis';
import { requestIdFor } from '../http/app';

const CONSOLE_PATH = /^\/api(?:\/game)?\/servers\/([0-9a-f-]{36})\/console$/;

export interface CloseOrder {
  instanceId?: string;
  accountId?: string;
  sessionId?: string;
  code: number;
  reason: string;
}

interface Session {
  instanceId: string;
  accountId: string;
  sessionId: string;
  client: WebSocket;
}

/** The account behind a login session, read from the database (not a cache), or undefined once it ended. */
export type LiveSession = (sessionId: string, accountId: string) => Promise<AccountView | undefined>;

/** Orders kept to catch one that arrives while an upgrade is between its checks and its 101. */
const RECENT_ORDERS = 256;

/**
 * Console WebSockets: everything is checked before the 101 (path, Origin, single-use ticket,
 * ownership, billing, the login session behind the ticket); then the agent's PTY is bridged, or
 * the socket is closed with a code and a reason when the agent does not answer in time. Close
 * orders (instance deleted, account suspended, session revoked) arrive over Redis pub/sub, so any
 * API process holding the socket acts on them.
 *
 * Origin: browsers always send it, so a listed Origin is required; a request without one is not
 * a browser and is refused unless `console.allowMissingOrigin` lets such clients in.
 */
export class ConsoleGateway {
  private readonly wss: WebSocketServer;
  private readonly sessions = new Set<Session>();
  private readonly recent: Array<{ seq: number; order: CloseOrder }> = [];
  private seq = 0;
  private subscriber?: Redis;

  constructor(
    private readonly config: KernelConfig,
    private readonly tickets: ConsoleTickets,
    private readonly directory: InstanceDirectory,
    private readonly agent: () => InstanceAgent,
    private readonly billingState: (accountId: string) => Promise<EnforcementState>,
    private readonly liveSession: LiveSession,
    private readonly redis: Redis,
    private readonly logger: Logger,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: config.console.maxMessageBytes, perMessageDeflate: false });
  }

  get channel(): string {
    return `${this.config.redis.prefix}:console:close`;
  }

  async listen(): Promise<void> {
    this.subscriber = subscriberOf(this.redis, this.logger, 'console');
    this.subscriber.on('message', (_channel, message) => this.apply(JSON.parse(message) as CloseOrder));
    await this.subscriber.subscribe(this.channel);
  }

  /** Asks every API process to close the matching consoles. */
  async order(close: CloseOrder): Promise<void> {
    await this.redis.publish(this.channel, JSON.stringify(close));
  }

  /** Closes, on every API process, the consoles opened under a session (or account) whose authority ended. */
  async revoke(r: ConsoleRevocation): Promise<void> {
    await this.order({ ...r, code: CLOSE.sessionRevoked, reason: `session revoked: ${r.reason}` });
  }

  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://zpack');
    const match = CONSOLE_PATH.exec(url.pathname);
    const requestId = requestIdFor(String(req.headers['x-request-id'] ?? ''));
    const since = this.seq;
    try {
      if (!match) throw new ZpackError('not_found', 404, `No WebSocket route for ${url.pathname}`);
      this.checkOrigin(req.headers.origin);
      const grant = await this.tickets.redeem(url.searchParams.get('ticket') ?? '');
      if (!grant || grant.instanceId !== match[1]) throw new ZpackError('unauthenticated', 401, 'A valid, unused console ticket for this server is required');
      const instance = await this.directory.get(grant.instanceId);
      if (!instance || instance.ownerId !== grant.accountId) throw new ZpackError('not_found', 404, 'Server not found');
      if ((await this.billingState(grant.accountId)) === 'suspended') throw new ZpackError('billing_suspended', 402, 'The account is suspended');
      // Last, so as little as possible happens between this read and the 101.
      const account = await this.liveSession(grant.sessionId, grant.accountId);
      if (!account || account.role !== grant.role) throw new ZpackError('unauthenticated', 401, 'The session this ticket was issued to has ended');
      const { accountId, sessionId } = grant;
      this.wss.handleUpgrade(req, socket, head, (client) => void this.open({ instanceId: instance.id, accountId, sessionId, client }, instance, since));
    } catch (err) {
      const e = err instanceof ZpackError ? err : new ZpackError('internal', 500, 'Internal error');
      if (!(err instanceof ZpackError)) this.logger.error({ err, requestId }, 'console upgrade failed');
      refuse(socket, e, requestId);
    }
  }

  private checkOrigin(origin: string | undefined): void {
    if (origin === undefined) {
      if (!this.config.console.allowMissingOrigin) throw new ZpackError('forbidden', 403, 'An Origin header is required to open a console');
    } else if (!this.config.console.allowedOrigins.includes(origin)) {
      throw new ZpackError('forbidden', 403, `Origin ${origin} may not open a console`);
    }
  }

  /** `since`: the last close order seen before the upgrade's checks began; a later one that matches still applies. */
  private async open(session: Session, instance: NonNullable<Awaited<ReturnType<InstanceDirectory['get']>>>, since: number): Promise<void> {
    const { client } = session;
    this.sessions.add(session);
    client.on('close', () => this.sessions.delete(session));
    const missed = this.recent.find((r) => r.seq > since && matches(r.order, session));
    if (missed) return closeQuietly(client, missed.order.code, missed.order.reason);
    client.pause();
    let agentSocket: WebSocket;
    try {
      agentSocket = await this.agent().openConsole(instance, this.config.console.connectTimeoutMs);
    } catch (err) {
      const reason = (err as { details?: { agent?: { body?: { reason?: string } } } }).details?.agent?.body?.reason ?? (err as Error).message;
      closeQuietly(client, CLOSE.agentUnreachable, `agent unreachable: ${reason}`);
      return;
    }
    if (client.readyState !== client.OPEN) return closeQuietly(agentSocket, CLOSE.normal, 'client left');
    bridge(client, agentSocket, this.config.console);
    client.resume();
  }

  private apply(order: CloseOrder): void {
    this.recent.push({ seq: ++this.seq, order });
    if (this.recent.length > RECENT_ORDERS) this.recent.shift();
    for (const s of this.sessions) if (matches(order, s)) closeQuietly(s.client, order.code, order.reason);
  }

  async close(): Promise<void> {
    for (const s of this.sessions) closeQuietly(s.client, 1001, 'server shutting down');
    this.wss.close();
    if (this.subscriber) this.subscriber.disconnect();
  }
}

const matches = (order: CloseOrder, s: Session): boolean =>
  (!!order.instanceId && s.instanceId === order.instanceId) ||
  (!!order.accountId && s.accountId === order.accountId) ||
  (!!order.sessionId && s.sessionId === order.sessionId);

/** An HTTP answer on the raw socket, with the envelope and X-Request-Id of every other answer: the upgrade never happens. */
function refuse(socket: Duplex, err: ZpackError, requestId: string): void {
  const body = JSON.stringify({ error: { code: err.code, message: err.message, details: err.details, requestId } });
  const reason = { 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found' }[err.status] ?? 'Error';
  socket.end(`HTTP/1.1 ${err.status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`);
}
