import { NotFoundError, UnauthenticatedError } from '../../../kernel/api';
import type { AccessEnded, AccountView, InstanceAccess, InstanceDirectory, InstanceView, LiveSessions } from '../../../kernel/api';
import type { IdeCredentials, IdeGrant } from './credentials';
import type { IdeConnection } from './socket-link';

/** Who is behind an IDE request and where it goes. */
export interface IdePass {
  /** The last close order seen when the checks began: a later one that matches still ends the pass. */
  since?: number;
  grant: IdeGrant;
  account: AccountView;
  instance: InstanceView;
}

export interface IdeGateDeps {
  credentials: IdeCredentials;
  sessions: () => LiveSessions;
  access: () => InstanceAccess;
  directory: () => InstanceDirectory;
  /** The instance type whose containers have an IDE. */
  type: string;
  /** How long a pass is reused before it is checked again; close orders drop it at once. */
  recheckMs: number;
}

/** Close codes of an IDE socket, as the console's. */
export const IDE_CLOSE = { expired: 4401, suspended: 4402, deleted: 4410, upstreamGone: 1011 } as const;

const RECENT_ORDERS = 256;

const hits = (order: AccessEnded, p: IdePass): boolean => {
  const named = [
    order.sessionId === undefined ? undefined : p.grant.sessionId === order.sessionId,
    order.accountId === undefined ? undefined : p.grant.accountId === order.accountId,
    order.instanceId === undefined ? undefined : p.instance.id === order.instanceId,
  ].filter((m): m is boolean => m !== undefined);
  return order.all ? named.length > 0 && named.every(Boolean) : named.some(Boolean);
};

interface OpenSocket {
  pass: IdePass;
  link: IdeConnection;
  timer: NodeJS.Timeout;
}

/**
 * The one authority check of every IDE request and socket: a valid cookie for this container
 * (401), the container alive and of the IDE type (404), the login session behind it alive (401),
 * the account allowed to change it now (Tokens.Access: 404 / 403 / 402). Open sockets close when
 * any of these ends.
 */
export class IdeGate {
  /** Passes by the cookie exactly as presented (its signature included), so a hit skips even the HMAC. */
  private readonly passes = new Map<string, { pass: IdePass; until: number }>();
  /** Checks under way, by cookie: requests that arrive together (a page's assets) share one read. */
  private readonly checking = new Map<string, { since: number; pass: Promise<IdePass> }>();
  private readonly sockets = new Set<OpenSocket>();
  /** Recent close orders, to catch one that lands between a socket's checks and its 101. */
  private readonly recent: Array<{ seq: number; order: AccessEnded }> = [];
  private seq = 0;

  constructor(private readonly deps: IdeGateDeps) {}

  /** `where`: the container the request names (by VMID from the Host, or by id from the legacy path). */
  async authorize(cookie: string | undefined, where: { vmid?: number; instanceId?: string }): Promise<IdePass> {
    const now = Date.now();
    let since = this.seq;
    const cached = cookie ? this.passes.get(cookie) : undefined;
    let pass: IdePass;
    if (cached && cached.until > now) pass = cached.pass;
    else {
      const grant = this.deps.credentials.verify('cookie', cookie, now);
      if (!grant) throw new UnauthenticatedError('Open the IDE from the portal: this IDE session is missing or has expired');
      let checking = this.checking.get(cookie!);
      if (!checking) {
        checking = { since, pass: this.checkAndRemember(cookie!, grant, since, now).finally(() => this.checking.delete(cookie!)) };
        this.checking.set(cookie!, checking);
      }
      // A socket on a shared check watches for close orders from that check's start.
      since = checking.since;
      pass = await checking.pass;
    }
    if ((where.vmid !== undefined && pass.instance.vmid !== where.vmid) || (where.instanceId !== undefined && pass.instance.id !== where.instanceId)) {
      throw new UnauthenticatedError('This IDE session is for another container');
    }
    return { ...pass, since };
  }

  private async checkAndRemember(cookie: string, grant: IdeGrant, since: number, now: number): Promise<IdePass> {
    let checkedFrom = since;
    let pass = await this.check(grant);
    // A close order heard while the checks ran may have ended what they read: read again, after it.
    if (this.missedSince(checkedFrom, pass)) {
      checkedFrom = this.seq;
      pass = await this.check(grant);
    }
    // Reused only when no close order for it came in while it was read.
    if (!this.missedSince(checkedFrom, pass)) this.remember(cookie, pass, now);
    return pass;
  }

  /** The checks behind a pass, read fresh. Also used by the bootstrap before it sets the cookie. */
  async check(grant: IdeGrant): Promise<IdePass> {
    const instance = await this.deps.directory().get(grant.instanceId);
    if (!instance || instance.state === 'deleted' || instance.state === 'deleting' || instance.type !== this.deps.type) throw new NotFoundError('Dev container');
    const account = await this.deps.sessions().account(grant.sessionId, grant.accountId);
    if (!account) throw new UnauthenticatedError('The login session behind this IDE has ended');
    const current = await this.deps.access().require(account, instance.id, 'console', { mutation: true, action: 'codeserver.ide' });
    return { grant, account, instance: current };
  }

  /** Keeps an open IDE connection under watch until it closes: its cookie's expiry closes it too. */
  watch(pass: IdePass, link: IdeConnection): void {
    const timer = setTimeout(() => link.close(IDE_CLOSE.expired, 'ide session expired'), Math.max(0, pass.grant.expiresAt - Date.now()));
    timer.unref();
    const open: OpenSocket = { pass, link, timer };
    this.sockets.add(open);
    link.onClose(() => {
      clearTimeout(timer);
      this.sockets.delete(open);
    });
    const missed = this.missedSince(pass.since ?? this.seq, pass);
    if (missed) link.close(missed.code, missed.reason.slice(0, 120));
  }

  /** A session, account or container lost its authority: forget its passes and close its sockets. */
  ended(order: AccessEnded): void {
    this.recent.push({ seq: ++this.seq, order });
    if (this.recent.length > RECENT_ORDERS) this.recent.shift();
    for (const [key, { pass }] of this.passes) if (hits(order, pass)) this.passes.delete(key);
    for (const open of this.sockets) if (hits(order, open.pass)) open.link.close(order.code, order.reason.slice(0, 120));
  }

  /** When the login session behind a grant expires (epoch ms), or undefined. */
  async sessionExpiry(sessionId: string): Promise<number | undefined> {
    return (await this.deps.sessions().expiresAt(sessionId))?.getTime();
  }

  get openSockets(): number {
    return this.sockets.size;
  }

  closeAll(): void {
    for (const open of this.sockets) open.link.close(1001, 'server shutting down');
  }

  /** A close order heard after `since` that ends this pass, if any. */
  private missedSince(since: number, pass: IdePass): AccessEnded | undefined {
    return since === this.seq ? undefined : this.recent.find((r) => r.seq > since && hits(r.order, pass))?.order;
  }

  private remember(cookie: string, pass: IdePass, now: number): void {
    if (this.deps.recheckMs <= 0) return;
    if (this.passes.size > 10_000) this.passes.clear();
    this.passes.set(cookie, { pass, until: Math.min(now + this.deps.recheckMs, pass.grant.expiresAt) });
  }
}
