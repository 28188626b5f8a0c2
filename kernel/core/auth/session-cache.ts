import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AccountView } from '../../api';

interface Entry {
  account: AccountView;
  until: number;
}

type Revocation = { sessionId: string } | { accountId: string };

/**
 * Live sessions remembered for a few seconds so a busy API does not read the session table on
 * every request. Revocation stays immediate: the revoking process drops the entry itself and
 * tells every other process over Redis pub/sub; while that channel is down, nothing is cached.
 */
export class SessionCache {
  private readonly entries = new Map<string, Entry>();
  private subscriber?: Redis;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly ttlMs = 10_000,
    private readonly max = 50_000,
  ) {}

  private get channel(): string {
    return `${this.prefix}:sessions:revoked`;
  }

  private get trusted(): boolean {
    return this.subscriber?.status === 'ready';
  }

  get(sessionId: string, accountId: string): AccountView | undefined {
    const hit = this.entries.get(sessionId);
    if (!hit || !this.trusted) return undefined;
    if (hit.until < Date.now() || hit.account.id !== accountId) {
      this.entries.delete(sessionId);
      return undefined;
    }
    return hit.account;
  }

  set(sessionId: string, account: AccountView): void {
    if (!this.trusted) return;
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(sessionId, { account, until: Date.now() + this.ttlMs });
  }

  async revoke(what: Revocation): Promise<void> {
    this.apply(what);
    await this.redis.publish(this.channel, JSON.stringify(what)).catch((err) => this.logger.warn({ err }, 'session revocation not broadcast'));
  }

  async listen(): Promise<void> {
    this.subscriber = this.redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined });
    this.subscriber.on('error', (err) => this.logger.debug({ err: err.message }, 'session subscriber error'));
    // Anything could have been revoked while the channel was down.
    this.subscriber.on('ready', () => this.entries.clear());
    this.subscriber.on('message', (_c, message) => this.apply(JSON.parse(message) as Revocation));
    await this.subscriber.subscribe(this.channel);
  }

  close(): void {
    this.subscriber?.disconnect();
    this.entries.clear();
  }

  private apply(what: Revocation): void {
    if ('sessionId' in what) {
      this.entries.delete(what.sessionId);
      return;
    }
    for (const [sid, e] of this.entries) if (e.account.id === what.accountId) this.entries.delete(sid);
  }
}
