import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { WebSocket, WebSocketServer } from 'ws';
import { ZpackError } from '../../api';
import type { AccountView, UpgradeGrant, UpgradeRequest } from '../../api';
import type { KernelConfig } from '../config';
import { closeQuietly } from '../console/bridge';
import type { UpgradeAuthority } from './dispatcher';

interface PendingUpgradeParts {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  url: URL;
  host: string;
  requestId: string;
  params: Record<string, string>;
  wss: WebSocketServer;
  config: Pick<KernelConfig['console'], 'allowedOrigins' | 'allowMissingOrigin'>;
  authority: UpgradeAuthority;
  logger: Logger;
}

/** One upgrade between its match and its 101: the checks every upgrade handler authenticates with. */
export class PendingUpgrade implements UpgradeRequest {
  state: 'pending' | 'accepted' = 'pending';
  private client?: WebSocket;

  constructor(private readonly parts: PendingUpgradeParts) {}

  get req(): IncomingMessage { return this.parts.req; }
  get url(): URL { return this.parts.url; }
  get params(): Record<string, string> { return this.parts.params; }
  get host(): string { return this.parts.host; }
  get requestId(): string { return this.parts.requestId; }
  get logger(): Logger { return this.parts.logger; }

  /** Browsers always send Origin, so a listed one is required; a request without one is not a browser. */
  checkOrigin(opening = 'a WebSocket'): void {
    const origin = this.parts.req.headers.origin;
    const { allowedOrigins, allowMissingOrigin } = this.parts.config;
    if (origin === undefined) {
      if (!allowMissingOrigin) throw new ZpackError('forbidden', 403, `An Origin header is required to open ${opening}`);
    } else if (!allowedOrigins.includes(origin) && !sameHost(origin, this.parts.req.headers.host)) {
      throw new ZpackError('forbidden', 403, `Origin ${origin} may not open ${opening}`);
    }
  }

  async redeemTicket(purpose: string): Promise<UpgradeGrant> {
    const grant = await this.parts.authority.redeem(this.parts.url.searchParams.get('ticket') ?? '');
    if (!grant || grant.purpose !== purpose) throw new ZpackError('unauthenticated', 401, `A valid, unused ${purpose} ticket is required`);
    return grant;
  }

  async confirmSession(grant: UpgradeGrant): Promise<AccountView> {
    const { authority } = this.parts;
    const account = grant.apiKeyId ? await authority.liveApiKey(grant.apiKeyId, grant.accountId) : await authority.liveSession(grant.sessionId, grant.accountId);
    if (!account || account.role !== grant.role) {
      throw new ZpackError('unauthenticated', 401, grant.apiKeyId ? 'The API key this ticket was issued to was revoked or expired' : 'The session this ticket was issued to has ended');
    }
    return account;
  }

  accept(): Promise<WebSocket> {
    if (this.state !== 'pending') throw new Error('the upgrade was already accepted');
    this.state = 'accepted';
    const { req, socket, head, wss } = this.parts;
    return new Promise((resolve, reject) => {
      // ws answers a malformed handshake itself and never calls back: the socket's close says so.
      const gone = () => reject(new Error('the client left before the WebSocket handshake completed'));
      socket.once('close', gone);
      wss.handleUpgrade(req, socket, head, (client) => {
        socket.off('close', gone);
        this.client = client;
        resolve(client);
      });
    });
  }

  takeOver(): { socket: Duplex; head: Buffer } {
    if (this.state !== 'pending') throw new Error('the upgrade was already accepted');
    this.state = 'accepted';
    return { socket: this.parts.socket, head: this.parts.head };
  }

  /** After the 101 a failure can no longer be answered: the socket is closed instead. */
  abort(): void {
    if (this.client) closeQuietly(this.client, 1011, 'internal error');
    else this.parts.socket.destroy();
  }
}

/** A page this server served itself (the operator console at /admin) opens its sockets from its own host. */
function sameHost(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
