import { InvalidRequestError, UnauthenticatedError, ZpackError } from '../../../kernel/api';
import type { InstanceView, RawRequest, UpgradeRequest } from '../../../kernel/api';
import { ideCookie, readIdeCookie, type IdeCredentials } from './credentials';
import type { CodeServerProxy, Upstream } from './proxy';
import type { IdeGate, IdePass } from './gate';
import type { IdeHosts } from './hosts';
import { PipedSocket } from './socket-link';

/** The bootstrap path, on the API and on each IDE host alike. */
export const BOOTSTRAP = /^\/api\/dev\/([0-9a-f-]{36})\/ide$/;
/** The compatibility path: /__ide/<instance id>/… on the API host. */
export const LEGACY_PREFIX = '/__ide';
const LEGACY = /^\/([0-9a-f-]{36})(\/.*)?$/;

export interface IdeServiceDeps {
  credentials: IdeCredentials;
  gate: IdeGate;
  hosts: IdeHosts;
  proxy: CodeServerProxy;
  /** The code-server base URL of a container, from what the database holds about it. */
  upstreamOf(instance: InstanceView): string;
  cookieTtlSeconds: number;
  /** false when the IDE is served over plain http (a browser drops a Secure cookie there). */
  secureCookie: boolean;
  /** Marks a token's nonce spent until `expiresAt`; false when it already was. */
  spend(nonce: string, expiresAt: number): Promise<boolean>;
  /** Origins (the portal's) that may open legacy-path IDE sockets besides the API's own. */
  allowedOrigins(): readonly string[];
}

/** The path and query of an origin-form request line, split. */
function splitUrl(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

/** The hosted IDE: bootstrap, the Host-routed proxy, the legacy path, and their WebSockets. */
export class IdeService {
  /** By the instance a pass holds: a reused pass finds its upstream without rebuilding the URL. */
  private readonly upstreams = new WeakMap<InstanceView, Upstream>();

  constructor(private readonly deps: IdeServiceDeps) {}

  /** Every plain request on dev-<vmid>.<devDomain> (taken before koa): strict Host, then the bootstrap or the proxy. */
  async hosted(request: RawRequest): Promise<void> {
    const { req } = request;
    const vmid = this.deps.hosts.vmidOf(req);
    const url = req.url!;
    if (url.startsWith('/api/dev/')) {
      const { path, query } = splitUrl(url);
      const bootstrap = BOOTSTRAP.exec(path);
      if (bootstrap) {
        const tokens = new URLSearchParams(query).getAll('token');
        const headers = await this.bootstrap(tokens.length === 1 ? tokens[0] : undefined, bootstrap[1], '/', { vmid });
        request.writeHead(302, [...Object.entries(headers).flat(), 'Content-Length', '0']);
        request.res.end();
        return;
      }
    }
    const pass = await this.deps.gate.authorize(readIdeCookie(req.headers.cookie), { vmid });
    await this.deps.proxy.forward(request, this.upstream(pass), url, req.headers.host!);
  }

  /** /__ide/<id>/… on the API host: the same checks, the cookie scoped to that path. */
  async legacy(request: RawRequest): Promise<void> {
    const { req } = request;
    const m = LEGACY.exec(request.params.rest ?? '');
    if (!m) throw new ZpackError('not_found', 404, 'No such IDE path');
    if (!(req.url ?? '').startsWith('/')) throw new InvalidRequestError('The request line must name a path on this host, not another host');
    const pass = await this.deps.gate.authorize(readIdeCookie(req.headers.cookie), { instanceId: m[1] });
    const { query } = splitUrl(req.url!);
    await this.deps.proxy.forward(request, this.upstream(pass), (m[2] ?? '/') + (query ? `?${query}` : ''), String(req.headers.host ?? ''));
  }

  /**
   * Exchanges an IDE token for the cookie (host-only: no Domain, so it is sent to this one host),
   * then sends the browser to the IDE. On the API host the cookie is scoped to the legacy path.
   */
  async bootstrap(token: string | undefined, instanceId: string, path: string, where: { vmid?: number }): Promise<Record<string, string>> {
    const grant = this.deps.credentials.verify('token', token, Date.now());
    if (!grant || grant.instanceId !== instanceId) throw new UnauthenticatedError('A valid IDE token for this container is required');
    const pass = await this.deps.gate.check(grant);
    if (where.vmid !== undefined && pass.instance.vmid !== where.vmid) throw new UnauthenticatedError('This IDE token is for another container');
    // Single use: the token travels in a URL (history, logs); only its first exchange counts.
    if (!(await this.deps.spend(grant.nonce ?? '', grant.expiresAt))) throw new UnauthenticatedError('This IDE token was already used: ask for a new one');
    const expiresAt = Math.min(Date.now() + this.deps.cookieTtlSeconds * 1000, await this.sessionEnd(grant.sessionId));
    const cookie = this.deps.credentials.issue('cookie', { instanceId: grant.instanceId, accountId: grant.accountId, sessionId: grant.sessionId, expiresAt });
    return {
      'Set-Cookie': ideCookie(cookie, path, (expiresAt - Date.now()) / 1000, this.deps.secureCookie),
      Location: path,
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
    };
  }

  /** WebSockets on an IDE host: strict Host, its own Origin, a valid cookie; code-server reached before the 101. */
  async hostedSocket(upgrade: UpgradeRequest): Promise<void> {
    const vmid = this.deps.hosts.vmidOf(upgrade.req);
    this.deps.hosts.checkOrigin(upgrade.req);
    const pass = await this.deps.gate.authorize(readIdeCookie(upgrade.req.headers.cookie), { vmid });
    await this.openSocket(upgrade, pass, upgrade.req.url ?? '/');
  }

  async legacySocket(upgrade: UpgradeRequest): Promise<void> {
    if (!(upgrade.req.url ?? '').startsWith('/')) throw new InvalidRequestError('The request line must name a path on this host');
    this.deps.hosts.checkOrigin(upgrade.req, this.deps.allowedOrigins());
    const pass = await this.deps.gate.authorize(readIdeCookie(upgrade.req.headers.cookie), { instanceId: upgrade.params.id });
    const rest = `/${upgrade.params.rest ?? ''}${upgrade.url.search}`;
    await this.openSocket(upgrade, pass, rest);
  }

  /** After the checks: code-server's side first, then the client's 101, then both piped as bytes under the gate's watch. */
  private async openSocket(upgrade: UpgradeRequest, pass: IdePass, path: string): Promise<void> {
    const upstream = await this.deps.proxy.connect(this.upstream(pass), path, upgrade.req, String(upgrade.req.headers.host ?? ''));
    let client;
    try {
      client = upgrade.takeOver();
    } catch (err) {
      upstream.socket.destroy();
      throw err;
    }
    const link = new PipedSocket(client.socket, upstream.socket);
    const answer = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade'];
    for (let i = 0; i < upstream.handshake.length; i += 2) answer.push(`${upstream.handshake[i]}: ${upstream.handshake[i + 1]}`);
    link.start(`${answer.join('\r\n')}\r\n\r\n`, upstream.head, client.head);
    this.deps.gate.watch(pass, link);
  }

  private upstream(pass: IdePass): Upstream {
    let found = this.upstreams.get(pass.instance);
    if (!found) {
      found = this.deps.proxy.upstream(this.deps.upstreamOf(pass.instance));
      this.upstreams.set(pass.instance, found);
    }
    return found;
  }

  private async sessionEnd(sessionId: string): Promise<number> {
    return (await this.deps.gate.sessionExpiry(sessionId)) ?? Date.now();
  }
}
