import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { AccountView, InstanceView } from './domain';

/**
 * A Host header to match: an exact name (compared without port, case-insensitively) or a
 * pattern whose named groups become params, e.g. /^dev-(?<vmid>\d+)\.dev\.example\.com$/.
 */
export type HostPattern = string | RegExp;

/**
 * Which WebSocket upgrades a handler takes. `path` is router-style (`/api/servers/:id/console`);
 * with both set, both must match. Upgrades matched by host are tried before path-only ones, so
 * a proxied hostname keeps every path.
 */
export interface UpgradeMatch {
  path?: string;
  host?: HostPattern;
}

/** What a single-use upgrade ticket stands for; it opens only upgrades of its own purpose. */
export interface UpgradeGrant {
  /** e.g. 'console', 'ide'. */
  purpose: string;
  accountId: string;
  /** The login session that asked: the ticket is worth nothing once it ends ('' when an API key asked). */
  sessionId: string;
  /** The API key that asked, when it was one (a key with the matching scope): worth nothing once the key is revoked or expires. */
  apiKeyId?: string;
  /** The account's role when issued: a role change voids tickets issued before it. */
  role: AccountView['role'];
  /** The instance the ticket opens, when it is about one. */
  instanceId?: string;
}

/** Short-lived, single-use, hashed in Redis. Issue from an authenticated route; redeem in an upgrade. */
export interface UpgradeTickets {
  readonly ttlSeconds: number;
  issue(grant: UpgradeGrant): Promise<string>;
}

/**
 * One WebSocket upgrade before its 101. Throw a ZpackError to refuse: the client gets a plain
 * HTTP answer with the error envelope and X-Request-Id, and no socket. The helpers are the ones
 * the console uses, so every upgrade is authenticated alike.
 */
export interface UpgradeRequest {
  readonly req: IncomingMessage;
  readonly url: URL;
  /** Path parameters and the host pattern's named groups. */
  readonly params: Record<string, string>;
  readonly host: string;
  readonly requestId: string;
  readonly logger: Logger;
  /**
   * Refuses (403) an Origin outside `console.allowedOrigins`, or a missing one unless
   * `console.allowMissingOrigin`; `opening` names what is refused ('a console'; default 'a WebSocket').
   */
  checkOrigin(opening?: string): void;
  /** Consumes the `?ticket=` of this purpose, or refuses (401); a used, expired or foreign ticket is refused alike. */
  redeemTicket(purpose: string): Promise<UpgradeGrant>;
  /** Refuses (401) once the login session (or API key) behind the grant has ended or the account's role changed. Call it last. */
  confirmSession(grant: UpgradeGrant): Promise<AccountView>;
  /** Sends the 101; errors after this point close the socket instead of answering. */
  accept(): Promise<WebSocket>;
  /**
   * Hands the raw connection over instead of accepting (a byte-for-byte proxy): the handler writes
   * the handshake answer itself and owns the socket from then on, closing it too when the kernel
   * stops. `head` holds what the client sent after its request. Errors after this destroy the socket.
   */
  takeOver(): { socket: Duplex; head: Buffer };
}

export type UpgradeHandler = (upgrade: UpgradeRequest) => Promise<void>;

export interface UpgradeOptions {
  /** Largest message accepted from the client (default `console.maxMessageBytes`). */
  maxPayloadBytes?: number;
  /**
   * WebSocket subprotocols this upgrade speaks, preferred first: the first one the client offers
   * is selected; a client offering none of them gets no subprotocol (the upgrade's default).
   */
  protocols?: string[];
}

/** A plain HTTP request whose Host matched a `ctx.hostRoutes` pattern; errors get the usual envelope. */
export interface HostRequest {
  readonly koa: Context;
  readonly params: Record<string, string>;
  readonly requestId: string;
  readonly logger: Logger;
}
export type HostRouteHandler = (request: HostRequest) => Promise<void>;

/** Which plain HTTP requests a raw route takes: every one whose Host matches, or whose path is `prefix` or under it. */
export type RawRouteMatch = { host: HostPattern; prefix?: never } | { prefix: string; host?: never };

/**
 * A plain HTTP request taken before koa (ctx.rawRoutes), for a streaming proxy: no body parsing,
 * no CORS, no API routes. The kernel still answers a thrown error with the envelope (unless the
 * answer has begun: then the connection is cut), and counts the request in its metrics.
 */
export interface RawRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The host pattern's named groups, or `{ rest }` (the path after the prefix, query excluded). */
  readonly params: Record<string, string>;
  readonly requestId: string;
  readonly logger: Logger;
  /**
   * Starts the answer: the kernel's own headers (X-Request-Id, X-Content-Type-Options) first, then
   * `headers`, a flat name, value, name, value … list like rawHeaders (repeated names stay repeated).
   */
  writeHead(status: number, headers: readonly string[]): void;
}
export type RawRouteHandler = (request: RawRequest) => Promise<void>;

/**
 * A plugin's part of `GET /api/servers/:id/status`, under its section name. It reads what is
 * recorded (payload, rows), never a remote system. One that throws shows as null.
 */
export type StatusSectionReader = (instance: InstanceView) => Promise<unknown>;
