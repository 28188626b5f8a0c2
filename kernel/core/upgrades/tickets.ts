import type { Redis } from 'ioredis';
import type { UpgradeGrant, UpgradeTickets } from '../../api';
import { randomToken, sha256 } from '../auth/tokens';

/** Single-use upgrade tickets: short-lived, bound to one purpose and one login session, stored hashed in Redis. */
export class KernelUpgradeTickets implements UpgradeTickets {
  constructor(private readonly redis: Redis, private readonly prefix: string, readonly ttlSeconds: number) {}

  async issue(grant: UpgradeGrant): Promise<string> {
    const ticket = randomToken();
    await this.redis.set(this.key(ticket), JSON.stringify(grant), 'EX', this.ttlSeconds);
    return ticket;
  }

  /** Consumes the ticket (GETDEL): a second use finds nothing. */
  async redeem(ticket: string): Promise<UpgradeGrant | null> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(ticket)) return null;
    const raw = await this.redis.getdel(this.key(ticket));
    return raw ? (JSON.parse(raw) as UpgradeGrant) : null;
  }

  private key(ticket: string): string {
    return `${this.prefix}:upgrade-ticket:${sha256(ticket)}`;
  }
}
