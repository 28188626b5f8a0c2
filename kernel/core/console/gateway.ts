import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { InstanceAgent, ZpackError } from '../../api';
import type { EnforcementState, InstanceDirectory } from '../../api';
import type { KernelConfig } from '../config';
import { CLOSE, bridge, closeQuietly } from './bridge';
import type { ConsoleTickets } from './tickets';
import { subscriberOf } from '../redis';

const CONSOLE_PATH = /^\/api(?:\/game)?\/servers\/([0-9a-f-]{36})\/console$/;

export interface CloseOrder {
  instanceId?: string;
  accountId?: string;
  code: number;
  reason: string;
}

interface Session {
  instanceId: string;
  accountId: string;
  client: WebSocket;
}

/**
 * Console WebSockets: everything is checked before the 101 (path, Origin, single-use ticket,
 * ownership, billing); then the agent's PTY is bridged, or the socket is closed with a code and
 * a reason when the agent does not answer in time. Close orders (instance deleted, account
 * suspended) arrive over Redis pub/sub, so any API process holding the socket acts on them.
 */
export class ConsoleGateway {
  private readonly wss: WebSocketServer;
  private readonly sessions = new Set<Session>();
  private subscriber?: Redis;

  constructor(
    private readonly config: KernelConfig,
    private readonly tickets: ConsoleTickets,
    private readonly directory: InstanceDirectory,
    private readonly agent: () => InstanceAgent,
    private readonly billingState: (accountId: string) => Promise<EnforcementState>,
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

  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://zpack');
    const match = CONSOLE_PATH.exec(url.pathname);
    try {
      if (!match) throw new ZpackError('not_found', 404, `No WebSocket route for ${url.pathname}`);
      const origin = req.headers.origin;
      if (origin && !this.config.console.allowedOrigins.includes(origin)) {
        throw new ZpackError('forbidden', 403, `Origin ${origin} may not open a console`);
      }
      const grant = await this.tickets.redeem(url.searchParams.get('ticket') ?? '');
      if (!grant || grant.instanceId !== match[1]) throw new ZpackError('unauthenticated', 401, 'A valid, unused console ticket for this server is required');
      const instance = await this.directory.get(grant.instanceId);
      if (!instance || instance.ownerId !== grant.accountId) throw new ZpackError('not_found', 404, 'Server not found');
      if ((await this.billingState(grant.accountId)) === 'suspended') throw new ZpackError('billing_suspended', 402, 'The account is suspended');
      this.wss.handleUpgrade(req, socket, head, (client) => void this.open(client, instance, grant.accountId));
    } catch (err) {
      const e = err instanceof ZpackError ? err : new ZpackError('internal', 500, 'Internal error');
      if (!(err instanceof ZpackError)) this.logger.error({ err }, 'console upgrade failed');
      refuse(socket, e);
    }
  }

  private async open(client: WebSocket, instance: NonNullable<Awaited<ReturnType<InstanceDirectory['get']>>>, accountId: string): Promise<void> {
    const session: Session = { instanceId: instance.id, accountId, client };
    this.sessions.add(session);
    client.on('close', () => this.sessions.delete(session));
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
    for (const s of this.sessions) {
      if ((order.instanceId && s.instanceId === order.instanceId) || (order.accountId && s.accountId === order.accountId)) {
        closeQuietly(s.client, order.code, order.reason);
      }
    }
  }

  async close(): Promise<void> {
    for (const s of this.sessions) closeQuietly(s.client, 1001, 'server shutting down');
    this.wss.close();
    if (this.subscriber) this.subscriber.disconnect();
  }
}

/** An HTTP answer on the raw socket: the upgrade never happens. */
function refuse(socket: Duplex, err: ZpackError): void {
  const body = JSON.stringify({ error: { code: err.code, message: err.message, details: err.details, requestId: randomUUID() } });
  const reason = { 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found' }[err.status] ?? 'Error';
  socket.end(`HTTP/1.1 ${err.status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
