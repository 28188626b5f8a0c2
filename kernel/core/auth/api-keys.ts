import { BlockList, isIP } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import type { DataSource } from 'typeorm';
import { ForbiddenError, InvalidRequestError, NotFoundError, UnauthenticatedError } from '../../api';
import type { AccountView, ApiKeyScope } from '../../api';
import { Account, ApiKey } from '../entities';
import type { KernelConfig } from '../config';
import type { ConsoleRevocation } from './auth-service';
import { rateLimitHeaders, type RateLimiter } from './rate-limit';
import { randomToken, sha256 } from './tokens';

/** Every personal key starts with it, so a leaked one is recognisable (secret scanners) and never mistaken for a JWT. */
export const API_KEY_PREFIX = 'zpk_';
/** The part of a key shown to its owner afterwards, and the index it is found by. */
const SHOWN = API_KEY_PREFIX.length + 8;
/** A key's last use is written at most this often: a busy key must not write a row per request. */
const LAST_USED_EVERY_MS = 60_000;

export interface NewApiKey {
  name: string;
  scopes: ApiKeyScope[];
  expiresAt?: Date | null;
  allowedIps?: string[] | null;
}

export const apiKeyView = (k: ApiKey) => ({
  id: k.id, name: k.name, prefix: k.prefix, scopes: k.scopes, expiresAt: k.expiresAt, lastUsedAt: k.lastUsedAt,
  lastUsedIp: k.lastUsedIp, allowedIps: k.allowedIps, createdAt: k.createdAt,
});

/** Personal API keys: made once (the secret is shown then and only its hash kept), checked on every request that presents one. */
export class ApiKeys {
  constructor(
    private readonly ds: DataSource,
    private readonly limiter: RateLimiter,
    private readonly config: KernelConfig,
    /** Consoles opened with a key's tickets end with the key. */
    private readonly closeConsoles: (r: ConsoleRevocation) => Promise<void> = async () => undefined,
  ) {}

  async create(account: AccountView, input: NewApiKey): Promise<{ key: ApiKey; secret: string }> {
    if (input.scopes.includes('admin') && account.role !== 'admin') throw new ForbiddenError('Only administrators may make keys with the admin scope', { scope: 'admin' });
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
      throw new InvalidRequestError('expiresAt is in the past', { fields: [{ path: 'body.expiresAt', message: 'must be in the future' }] });
    }
    const repo = this.ds.getRepository(ApiKey);
    const held = await repo.createQueryBuilder('k').where('k.account_id = :a AND k.revoked_at IS NULL', { a: account.id }).getCount();
    if (held >= this.config.management.apiKeys.maxPerAccount) throw new ForbiddenError(`At most ${this.config.management.apiKeys.maxPerAccount} API keys per account`);
    const secret = `${API_KEY_PREFIX}${randomToken(30)}`;
    const key = await repo.save(repo.create({
      accountId: account.id, name: input.name, prefix: secret.slice(0, SHOWN), secretHash: sha256(secret), scopes: [...new Set(input.scopes)],
      expiresAt: input.expiresAt ?? null, allowedIps: input.allowedIps ?? null, lastUsedAt: null, lastUsedIp: null, revokedAt: null,
    }));
    return { key, secret };
  }

  async revoke(accountId: string, id: string): Promise<void> {
    const res = await this.ds.getRepository(ApiKey).createQueryBuilder().update().set({ revokedAt: () => 'now()' })
      .where('id = :id AND account_id = :a AND revoked_at IS NULL', { id, a: accountId }).execute();
    if (!res.affected) throw new NotFoundError('API key');
    // The row is revoked first, which refuses every later ticket; a lost order only leaves open consoles open.
    await this.closeConsoles({ apiKeyId: id, reason: 'API key revoked' }).catch(() => undefined);
  }

  /** The account behind a key that is neither revoked nor expired (a console ticket's key, asked again before the 101). */
  async live(keyId: string, accountId: string): Promise<AccountView | undefined> {
    const [a] = await this.ds.query(
      `SELECT a.id, a.email, a.role, a.billing_exempt FROM api_key k JOIN account a ON a.id = k.account_id
        WHERE k.id = $1 AND k.account_id = $2 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())`,
      [keyId, accountId],
    ) as Array<{ id: string; email: string; role: 'user' | 'admin'; billing_exempt: boolean }>;
    return a && { id: a.id, email: a.email, role: a.role, billingExempt: a.billing_exempt };
  }

  /** When a key expires: null when it never does, undefined when there is no live key. */
  async expiresAt(keyId: string): Promise<Date | null | undefined> {
    const key = await this.ds.getRepository(ApiKey).findOne({ select: { id: true, expiresAt: true, revokedAt: true }, where: { id: keyId } });
    return key && !key.revokedAt ? key.expiresAt : undefined;
  }

  /**
   * A presented `zpk_…` key → its account, carrying the key's scopes. Unknown, revoked or expired: 401;
   * from an address the key does not allow: 403; over its rate: 429. RateLimit-* headers go on the answer.
   */
  async authenticate(ctx: Context, secret: string): Promise<AccountView> {
    const key = await this.ds.getRepository(ApiKey).findOneBy({ prefix: secret.slice(0, SHOWN) });
    const presented = Buffer.from(sha256(secret));
    if (!key || !timingSafeEqual(presented, Buffer.from(key.secretHash)) || key.revokedAt || (key.expiresAt && key.expiresAt.getTime() <= Date.now())) {
      throw new UnauthenticatedError('Invalid, revoked or expired API key');
    }
    if (key.allowedIps?.length && !allows(key.allowedIps, ctx.ip)) throw new ForbiddenError('This API key may not be used from this address', { ip: ctx.ip });
    await this.limiter.hit('api-key', key.id, this.config.management.apiKeys.rateLimit, rateLimitHeaders(ctx));
    if (!key.lastUsedAt || Date.now() - key.lastUsedAt.getTime() > LAST_USED_EVERY_MS || key.lastUsedIp !== ctx.ip) {
      await this.ds.getRepository(ApiKey).update(key.id, { lastUsedAt: new Date(), lastUsedIp: ctx.ip });
    }
    const account = await this.ds.getRepository(Account).findOneBy({ id: key.accountId });
    if (!account) throw new UnauthenticatedError('Invalid, revoked or expired API key');
    // A key outlives a demotion only with the scopes the account may still hold.
    const scopes = account.role === 'admin' ? key.scopes : key.scopes.filter((s) => s !== 'admin');
    return { id: account.id, email: account.email, role: account.role, billingExempt: account.billingExempt, credential: { kind: 'apiKey', id: key.id, scopes } };
  }
}

/** An address or a CIDR block; IPv4-mapped IPv6 (`::ffff:1.2.3.4`) counts as its IPv4 address. */
export function allows(rules: string[], ip: string): boolean {
  const list = new BlockList();
  for (const rule of rules) {
    const [address, bits] = rule.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  const address = mapped ?? ip;
  return list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

/** `1.2.3.4`, `10.0.0.0/8`, `::1`, `fd00::/8`: what allowedIps accepts. */
export function isAddressRule(rule: string): boolean {
  const [address, bits, extra] = rule.split('/');
  const family = isIP(address);
  if (!family || extra !== undefined) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n >= 0 && n <= (family === 4 ? 32 : 128);
}
