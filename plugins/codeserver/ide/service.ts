import type { Context } from 'koa';
import { InvalidRequestError, UnauthenticatedError, ZpackError } from '../../../kernel/api';
import type { HostRequest, InstanceView, UpgradeRequest } from '../../../kernel/api';
import { ideCookie, readIdeCookie, type IdeCredentials } from './credentials';
import { bridgeSockets, type CodeServerProxy } from './proxy';
import { IdeGate } from './gate';
import type { IdeHosts } from './hosts';

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

/** The hosted IDE: bootstrap, the Host-routed proxy, the legacy path, and their WebSockets. */
export class IdeService {
  constructor(private readonly deps: IdeServiceDeps) {}

  /** Every plain request on dev-<vmid>.<devDomain>: strict Host, then the bootstrap or the proxy. */
  async hosted({ koa }: HostRequest): Promise<void> {
    const vmid = this.deps.hosts.vmidOf(koa.req);
    const bootstrap = BOOTSTRAP.exec(koa.path);
    if (bootstrap) {
      const headers = await this.bootstrap(koa, bootstrap[1], '/', { vmid });
      for (const [name, value] of Object.entries(headers)) koa.set(name, value);
      koa.status = 302;
      return;
    }
    const pass = await this.deps.gate.authorize(readIdeCookie(koa.get('cookie')), { vmid });
    await this.deps.proxy.forward(koa, this.deps.upstreamOf(pass.instance), koa.url);
  }

  /** /__ide/<id>/… on the API host: the same checks, the cookie scoped to that path. */
  async legacy({ koa, params }: HostRequest): Promise<void> {
    const m = LEGACY.exec(params.rest ?? '');
    if (!m) throw new ZpackError('not_found', 404, 'No such IDE path');
    if (!(koa.req.url ?? '').startsWith('/')) throw new InvalidRequestError('The request line must name a path on this host, not another host');
    const pass = await this.deps.gate.authorize(readIdeCookie(koa.get('cookie')), { instanceId: m[1] });
    const rest = (m[2] ?? '/') + (koa.querystring ? `?${koa.querystring}` : '');
    await this.deps.proxy.forward(koa, this.deps.upstreamOf(pass.instance), rest);
  }

  /**
   * Exchanges an IDE token for the cookie (host-only: no Domain, so it is sent to this one host),
   * then sends the browser to the IDE. On the API host the cookie is scoped to the legacy path.
   */
  async bootstrap(koa: Context, instanceId: string, path: string, where: { vmid?: number }): Promise<Record<string, string>> {
    const token = typeof koa.query.token === 'string' ? koa.query.token : undefined;
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

  private async openSocket(upgrade: UpgradeRequest, pass: Awaited<ReturnType<IdeGate['authorize']>>, path: string): Promise<void> {
    const upstream = await this.deps.proxy.connect(this.deps.upstreamOf(pass.instance), path, upgrade.req);
    let client;
    try {
      client = await upgrade.accept();
    } catch (err) {
      upstream.terminate();
      throw err;
    }
    bridgeSockets(client, upstream);
    this.deps.gate.watch(pass, client);
  }

  private async sessionEnd(sessionId: string): Promise<number> {
    return (await this.deps.gate.sessionExpiry(sessionId)) ?? Date.now();
  }
}
