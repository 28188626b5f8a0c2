import type { Redis } from 'ioredis';
import type { AccountView } from '../../api';
import { randomToken, sha256 } from '../auth/tokens';

export interface ConsoleGrant {
  accountId: string;
  instanceId: string;
  /** The login session that asked: the ticket is worth nothing once it ends. */
  sessionId: string;
  /** The account's role when issued: a role change voids tickets issued before it. */
  role: AccountView['role'];
}

/** Single-use console tickets: short-lived, bound to one instance and one login session, stored hashed in Redis. */
export class ConsoleTickets {
  constructor(private readonly redis: Redis, private readonly prefix: string, readonly ttlSeconds: number) {}

  async issue(grant: ConsoleGrant): Promise<string> {
    const ticket = randomToken();
    await this.redis.set(this.key(ticket), JSON.stringify(grant), 'EX', this.ttlSeconds);
    return ticket;
  }

  /** Consumes the ticket (GETDEL): a second use finds nothing. */
  async redeem(ticket: string): Promise<ConsoleGrant | null> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(ticket)) return null;
    const raw = await this.redis.getdel(this.key(ticket));
    return raw ? (JSON.parse(raw) as ConsoleGrant) : null;
  }

  private key(ticket: string): string {
    return `${this.prefix}:console-ticket:${sha256(ticket)}`;
  }
}
