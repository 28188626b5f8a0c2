import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { match as compilePath, type MatchFunction } from 'path-to-regexp';
import { WebSocketServer, type WebSocket } from 'ws';
import { BootError, ZpackError } from '../../api';
import type { AccountView, UpgradeGrant, UpgradeHandler, UpgradeMatch, UpgradeOptions } from '../../api';
import type { KernelConfig } from '../config';
import { requestIdFor } from '../http/app';
import { closeQuietly } from '../console/bridge';
import { compileHost, hostLabel, hostOf, type HostMatcher } from './hosts';
import { PendingUpgrade } from './pending';

/** The account behind a login session, read from the database (not a cache), or undefined once it ended. */
export type LiveSession = (sessionId: string, accountId: string) => Promise<AccountView | undefined>;

/** What authenticates an upgrade: tickets and login sessions, both owned by the kernel. */
export interface UpgradeAuthority {
  redeem(ticket: string): Promise<UpgradeGrant | null>;
  liveSession: LiveSession;
  /** The account behind an API key that is neither revoked nor expired. */
  liveApiKey(keyId: string, accountId: string): Promise<AccountView | undefined>;
}

interface Entry {
  owner: string;
  host?: HostMatcher;
  path?: MatchFunction<Record<string, string | string[]>>;
  handler: UpgradeHandler;
  wss: WebSocketServer;
}

/**
 * The one owner of the HTTP server's 'upgrade' event. Host-matched entries are tried first (a
 * proxied hostname keeps every path), then path-only ones, each in registration order; nothing
 * matched is a 404 with the error envelope. A handler's refusal is a plain HTTP answer before the
 * 101, with the envelope and X-Request-Id of every other answer.
 */
export class UpgradeDispatcher {
  private readonly byHost: Entry[] = [];
  private readonly byPath: Entry[] = [];
  private readonly seen = new Map<string, string>();

  constructor(private readonly config: KernelConfig, private readonly authority: UpgradeAuthority, private readonly logger: Logger) {}

  register(owner: string, match: UpgradeMatch, handler: UpgradeHandler, options: UpgradeOptions = {}): void {
    if (match.path === undefined && match.host === undefined) throw new BootError(`plugin "${owner}" declares an upgrade with neither path nor host`);
    const key = `${hostLabel(match.host)} ${match.path ?? '*'}`;
    const prior = this.seen.get(key);
    if (prior) throw new BootError(`WebSocket upgrade ${key} is declared by both "${prior}" and "${owner}"`);
    this.seen.set(key, owner);
    const maxPayload = options.maxPayloadBytes ?? this.config.console.maxMessageBytes;
    const entry: Entry = {
      owner, handler,
      host: match.host === undefined ? undefined : compileHost(match.host),
      path: match.path === undefined ? undefined : compilePath(match.path, { decode: decodeURIComponent }),
      wss: new WebSocketServer({ noServer: true, maxPayload, perMessageDeflate: false, handleProtocols: options.protocols && selectFrom(options.protocols) }),
    };
    (entry.host ? this.byHost : this.byPath).push(entry);
  }

  async handle(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // Node drops its own error listener at the upgrade: a reset during the checks must not be uncaught.
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://zpack');
    const requestId = requestIdFor(String(req.headers['x-request-id'] ?? ''));
    const host = hostOf(req.headers, this.config.server.trustProxy);
    let pending: PendingUpgrade | undefined;
    try {
      const found = this.find(url.pathname, host);
      if (!found) throw new ZpackError('not_found', 404, `No WebSocket route for ${url.pathname}`);
      pending = new PendingUpgrade({
        req, socket, head, url, host, requestId, params: found.params, wss: found.entry.wss,
        config: this.config.console, authority: this.authority, logger: this.logger.child({ requestId, upgrade: found.entry.owner }),
      });
      await found.entry.handler(pending);
      if (pending.state === 'pending') throw new Error(`the upgrade handler of "${found.entry.owner}" neither accepted nor refused`);
    } catch (err) {
      const expected = err instanceof ZpackError;
      if (!expected) this.logger.error({ err, requestId, path: url.pathname }, 'WebSocket upgrade failed');
      if (!pending || pending.state === 'pending') refuse(socket, expected ? err : new ZpackError('internal', 500, 'Internal error'), requestId);
      else pending.abort();
    }
  }

  /** Closes every accepted socket (1001); raw connections a handler took over are its own to close. */
  close(): void {
    for (const { wss } of [...this.byHost, ...this.byPath]) {
      for (const client of wss.clients) closeQuietly(client as WebSocket, 1001, 'server shutting down');
      wss.close();
    }
  }

  private find(path: string, host: string): { entry: Entry; params: Record<string, string> } | undefined {
    for (const entry of [...this.byHost, ...this.byPath]) {
      const fromHost = entry.host ? entry.host(host) : {};
      if (!fromHost) continue;
      const fromPath = entry.path ? entry.path(path) : { params: {} };
      if (!fromPath) continue;
      const params = Object.fromEntries(Object.entries(fromPath.params).map(([k, v]) => [k, Array.isArray(v) ? v.join('/') : v]));
      return { entry, params: { ...fromHost, ...params } };
    }
    return undefined;
  }
}

/** Picks our first protocol the client offers; `false` answers without a subprotocol instead of taking the client's first. */
const selectFrom = (ours: string[]) => (offered: Set<string>): string | false => ours.find((p) => offered.has(p)) ?? false;

/** An HTTP answer on the raw socket, with the envelope and X-Request-Id of every other answer: the upgrade never happens. */
function refuse(socket: Duplex, err: ZpackError, requestId: string): void {
  const body = JSON.stringify({ error: { code: err.code, message: err.message, details: err.details, requestId } });
  const reason = { 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error' }[err.status] ?? 'Error';
  socket.end(`HTTP/1.1 ${err.status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`);
}
