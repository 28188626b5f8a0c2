import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { InstanceAgent, ZpackError } from '../../api';
import type { ActivityLog, EnforcementState, InstanceAccess, InstanceDirectory, UpgradeRequest } from '../../api';
import type { KernelConfig } from '../config';
import { CLOSE, bridge, closeQuietly, type ConsoleLink } from './bridge';
import { ConsoleCommandLog } from './command-log';
import { framingFor } from './framing';
import type { ConsoleRevocation } from '../auth/auth-service';
import { subscriberOf } from '../redis';

/** Where consoles upgrade (the legacy /api/game prefix too), and the purpose of the tickets that open them. */
export const CONSOLE_PATH = '/api{/game}/servers/:id/console';
export const CONSOLE_TICKET = 'console';

/**
 * When the credential behind a ticket expires: a login session's refresh expiry (refreshing does not
 * extend it) or an API key's expiry (null: it never does); undefined when it no longer lives.
 */
export type SessionExpiry = (grant: { sessionId: string; apiKeyId?: string }) => Promise<Date | null | undefined>;

export interface CloseOrder {
  instanceId?: string;
  accountId?: string;
  sessionId?: string;
  apiKeyId?: string;
  /** Only consoles matching every field given (a subuser's consoles on one server), not any of them. */
  all?: boolean;
  code: number;
  reason: string;
}

interface Session {
  instanceId: string;
  accountId: string;
  sessionId: string;
  apiKeyId?: string;
  client: WebSocket;
  ip?: string;
}

/** Orders kept to catch one that arrives while an upgrade is between its checks and its 101. */
const RECENT_ORDERS = 256;

/**
 * Console WebSockets, taken through the kernel's upgrade dispatcher: everything is checked before
 * the 101 (Origin, single-use ticket, ownership, billing, the login session behind the ticket);
 * then the agent's PTY is bridged, or
 * the socket is closed with a code and a reason when the agent does not answer in time. Close
 * orders (instance deleted, account suspended, session revoked) arrive over Redis pub/sub, so any
 * API process holding the socket acts on them.
 *
 * Origin: browsers always send it, so a listed Origin is required; a request without one is not
 * a browser and is refused unless `console.allowMissingOrigin` lets such clients in.
 */
export class ConsoleGateway {
  private readonly sessions = new Set<Session>();
  private readonly recent: Array<{ seq: number; order: CloseOrder }> = [];
  private seq = 0;
  private subscriber?: Redis;
  /** Others in this process that end connections on the same orders (Tokens.Sessions.onEnded). */
  private readonly listeners = new Set<(order: CloseOrder) => void>();

  constructor(
    private readonly config: KernelConfig,
    private readonly directory: InstanceDirectory,
    private readonly agent: () => InstanceAgent,
    private readonly billingState: (accountId: string) => Promise<EnforcementState>,
    private readonly sessionExpiry: SessionExpiry,
    private readonly redis: Redis,
    private readonly logger: Logger,
    private readonly access: () => InstanceAccess,
    private readonly activity: () => ActivityLog,
  ) {}

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

  /** The console's upgrade: Origin, single-use ticket for this server, ownership, billing, then the login session. */
  async accept(upgrade: UpgradeRequest): Promise<void> {
    const since = this.seq;
    upgrade.checkOrigin('a console');
    const grant = await upgrade.redeemTicket(CONSOLE_TICKET);
    if (grant.instanceId !== upgrade.params.id) throw new ZpackError('unauthenticated', 401, 'A valid, unused console ticket for this server is required');
    const instance = await this.directory.get(grant.instanceId);
    // The grant may have been revoked since the ticket was issued: asked again, just before the 101.
    const relation = instance && await this.access().relation({ id: grant.accountId }, instance);
    // Operators reach every console (the operator web console opens them with their own session).
    if (!instance || (!relation && grant.role !== 'admin')) throw new ZpackError('not_found', 404, 'Server not found');
    if (relation?.kind === 'subuser' && !relation.permissions.includes('console')) throw new ZpackError('forbidden', 403, 'This needs the console permission on the server');
    if ((await this.billingState(instance.ownerId)) === 'suspended') throw new ZpackError('billing_suspended', 402, 'The account is suspended');
    // Last, so as little as possible happens between this read and the 101.
    await upgrade.confirmSession(grant);
    const client = await upgrade.accept();
    const session = { instanceId: instance.id, accountId: grant.accountId, sessionId: grant.sessionId, apiKeyId: grant.apiKeyId, client, ip: upgrade.req.socket.remoteAddress };
    await this.open(session, instance, since);
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
    const actor = session.apiKeyId ? { type: 'apiKey' as const, id: session.apiKeyId }
      : { type: session.accountId === instance.ownerId ? 'user' as const : 'subuser' as const, id: session.accountId };
    // Commands typed are recorded (who typed what, on which server); what the server prints is not.
    const commands = new ConsoleCommandLog(this.config.console.commandLog, ({ event, properties }) => void this.activity().record({
      instanceId: instance.id, event, actor, ip: session.ip ?? null, properties,
    }).catch((err) => this.logger.warn({ err, instanceId: instance.id }, 'console command not recorded')));
    const link = bridge(client, agentSocket, framingFor(client.protocol), { ...this.config.console, logger: this.logger, onCommand: (c) => commands.typed(c) });
    client.once('close', () => commands.flush());
    client.resume();
    await this.expireLater(session, link);
  }

  /**
   * A console lives until its login session (or API key) expires or `maxLifetimeSeconds` after it opened,
   * whichever is first; `expiringNoticeSeconds` before that a v1 client is sent `expiring`.
   */
  private async expireLater(session: Session, link: ConsoleLink): Promise<void> {
    const { maxLifetimeSeconds, expiringNoticeSeconds } = this.config.console;
    const lifetimeEnds = Date.now() + maxLifetimeSeconds * 1000;
    const expiry = await this.sessionExpiry(session);
    const sessionEnds = expiry === null ? Infinity : expiry?.getTime() ?? Date.now();
    if (session.client.readyState !== session.client.OPEN) return;
    const [endsAt, code, reason] = sessionEnds <= lifetimeEnds
      ? [sessionEnds, CLOSE.sessionRevoked, session.apiKeyId ? 'API key expired' : 'session expired']
      : [lifetimeEnds, CLOSE.lifetimeEnded, 'console lifetime reached'];
    const notice = setTimeout(() => link.notify({ type: 'expiring', inSeconds: Math.max(0, Math.round((endsAt - Date.now()) / 1000)) }),
      endsAt - expiringNoticeSeconds * 1000 - Date.now());
    const end = setTimeout(() => link.end(code, reason), endsAt - Date.now());
    for (const timer of [notice, end]) timer.unref();
    session.client.once('close', () => [notice, end].forEach(clearTimeout));
  }

  /** Hears every close order this process receives; returns the unsubscribe. */
  onOrder(listener: (order: CloseOrder) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private apply(order: CloseOrder): void {
    for (const listener of this.listeners) {
      try {
        listener(order);
      } catch (err) {
        this.logger.error({ err }, 'close order listener failed');
      }
    }
    this.recent.push({ seq: ++this.seq, order });
    if (this.recent.length > RECENT_ORDERS) this.recent.shift();
    for (const s of this.sessions) if (matches(order, s)) closeQuietly(s.client, order.code, order.reason);
  }

  async close(): Promise<void> {
    for (const s of this.sessions) closeQuietly(s.client, 1001, 'server shutting down');
    if (this.subscriber) this.subscriber.disconnect();
  }
}

const matches = (order: CloseOrder, s: Session): boolean => order.all
  ? (!order.instanceId || s.instanceId === order.instanceId) && (!order.accountId || s.accountId === order.accountId) && (!order.sessionId || s.sessionId === order.sessionId)
    && (!order.apiKeyId || s.apiKeyId === order.apiKeyId)
  : (!!order.instanceId && s.instanceId === order.instanceId) ||
  (!!order.accountId && s.accountId === order.accountId) ||
  (!!order.sessionId && s.sessionId === order.sessionId) ||
  (!!order.apiKeyId && s.apiKeyId === order.apiKeyId);
