import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AccountView } from '../../api';
import type { Quota } from '../quota';
import { subscriberOf } from '../redis';

/** A session revoked; an account changed (role, exemption, limits); an account's instance count changed. */
type Forget = { sessionId: string } | { accountId: string } | { quotaOf: string };

interface Timed<T> {
  value: T;
  until: number;
}

/**
 * What every request asks about its caller — is the session live, what is the quota — kept a
 * few seconds so a busy API does not ask Postgres each time. Changes stay immediate: whoever
 * changes a session or an account drops the entry itself and tells every process over Redis
 * pub/sub; while that channel is down, nothing is cached.
 */
export class AccountCache {
  private readonly sessions = new Map<string, Timed<AccountView>>();
  private readonly quotas = new Map<string, Timed<Quota>>();
  private subscriber?: Redis;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly ttlMs = 10_000,
    private readonly max = 50_000,
  ) {}

  private get channel(): string {
    return `${this.prefix}:accounts:changed`;
  }

  private get trusted(): boolean {
    return this.subscriber?.status === 'ready';
  }

  session(sessionId: string, accountId: string): AccountView | undefined {
    const account = this.read(this.sessions, sessionId);
    return account?.id === accountId ? account : undefined;
  }

  rememberSession(sessionId: string, account: AccountView): void {
    this.write(this.sessions, sessionId, account);
  }

  quota(accountId: string): Quota | undefined {
    return this.read(this.quotas, accountId);
  }

  rememberQuota(accountId: string, quota: Quota): void {
    this.write(this.quotas, accountId, quota);
  }

  async forget(what: Forget): Promise<void> {
    this.apply(what);
    await this.redis.publish(this.channel, JSON.stringify(what)).catch((err) => this.logger.warn({ err }, 'account change not broadcast'));
  }

  async listen(): Promise<void> {
    this.subscriber = subscriberOf(this.redis, this.logger, 'account cache');
    // Anything could have changed while the channel was down.
    this.subscriber.on('ready', () => this.clear());
    this.subscriber.on('message', (_c, message) => this.apply(JSON.parse(message) as Forget));
    await this.subscriber.subscribe(this.channel);
  }

  close(): void {
    this.subscriber?.disconnect();
    this.clear();
  }

  private read<T>(map: Map<string, Timed<T>>, key: string): T | undefined {
    const hit = map.get(key);
    if (!hit || !this.trusted) return undefined;
    if (hit.until < Date.now()) {
      map.delete(key);
      return undefined;
    }
    return hit.value;
  }

  private write<T>(map: Map<string, Timed<T>>, key: string, value: T): void {
    if (!this.trusted) return;
    if (map.size >= this.max) map.delete(map.keys().next().value!);
    map.set(key, { value, until: Date.now() + this.ttlMs });
  }

  private apply(what: Forget): void {
    if ('sessionId' in what) {
      this.sessions.delete(what.sessionId);
      return;
    }
    if ('quotaOf' in what) {
      this.quotas.delete(what.quotaOf);
      return;
    }
    this.quotas.delete(what.accountId);
    for (const [sid, e] of this.sessions) if (e.value.id === what.accountId) this.sessions.delete(sid);
  }

  private clear(): void {
    this.sessions.clear();
    this.quotas.clear();
  }
}
