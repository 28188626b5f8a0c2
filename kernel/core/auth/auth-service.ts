import { randomUUID } from 'node:crypto';
import type { Context } from 'koa';
import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { ConflictError, InvalidRequestError, UnauthenticatedError } from '../../api';
import type { AccountView, Clock, Notifications } from '../../api';
import { Account, PasswordReset, Session, accountView } from '../entities';
import type { KernelConfig } from '../config';
import { hotQuery, returnedRows } from '../database';
import { dummyHash, hashPassword, needsRehash, verifyPassword } from './passwords';
import { audit } from '../audit';
import { RateLimiter, type RateLimitObserver } from './rate-limit';
import type { AccountCache } from './account-cache';
import { API_KEY_PREFIX, type ApiKeys } from './api-keys';
import { AccessTokens, bearerToken, makeRefreshToken, parseRefreshToken, randomToken, sha256 } from './tokens';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: AccountView;
}

export const normaliseEmail = (email: string): string => email.trim().toLowerCase();

/** Consoles to close because the authority their ticket was issued under ended or changed. */
export type ConsoleRevocation = ({ sessionId: string } | { accountId: string } | { apiKeyId: string }) & { reason: string };

/** Accounts, sessions and password resets. Every check reads the session row: revocation is immediate. */
export class AuthService {
  private readonly lookups = new Map<string, Promise<AccountView | undefined>>();
  /** Personal API keys (`zpk_…`), accepted as bearer tokens alongside access tokens. */
  apiKeys?: ApiKeys;

  constructor(
    private readonly ds: DataSource,
    private readonly tokens: AccessTokens,
    private readonly limiter: RateLimiter,
    private readonly notifications: Notifications,
    private readonly clock: Clock,
    private readonly config: KernelConfig,
    private readonly logger: Logger,
    private readonly cache: AccountCache,
    private readonly closeConsoles: (r: ConsoleRevocation) => Promise<void>,
  ) {}

  /** Creates an account directly (CLI, tests): a known email is a ConflictError. The public route uses signUp. */
  async register(email: string, password: string, role: 'user' | 'admin' = 'user'): Promise<Account> {
    this.checkPasswordStrength(password);
    const repo = this.ds.getRepository(Account);
    try {
      return await repo.save(repo.create({ email: normaliseEmail(email), passwordHash: await hashPassword(password), role }));
    } catch (err: any) {
      if (err?.driverError?.code === '23505') throw new ConflictError('An account with this email exists', { field: 'email' });
      throw err;
    }
  }

  /**
   * Public registration, rate limited per address. A known email gets the same answer as a new
   * one (same status and shape, a random id, the same password hashing) and its owner a mail
   * saying they already have an account, so the route cannot tell anyone which emails exist.
   */
  async signUp(email: string, password: string, address: string, observe?: RateLimitObserver): Promise<AccountView> {
    await this.limiter.hit('register-addr', address, this.config.auth.registerLimit.perAddress, observe);
    try {
      const account = await this.register(email, password);
      await this.mail(account.email, 'welcome', 'Welcome to zpack',
        `Your zpack account ${account.email} is ready. Sign in at ${this.publicUrl} to create your first server.`);
      return accountView(account);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
    const who = normaliseEmail(email);
    const mailed = await this.limiter.hit('register-mail', who, this.config.auth.registerLimit.mailsPerAccount).then(() => true, () => false);
    if (mailed) {
      await this.mail(who, 'account_exists', 'You already have a zpack account',
        `Someone tried to create a zpack account for ${who}, but you already have one; nothing was changed.\n\n` +
        `If you forgot your password, reset it from the sign-in page at ${this.publicUrl}.\nIf it was not you, ignore this message.`);
    }
    return { id: randomUUID(), email: who, role: 'user', billingExempt: false };
  }

  private mail(to: string, template: string, subject: string, text: string): Promise<void> {
    return this.notifications.sendToOwner({ to, template, subject, text });
  }

  private get publicUrl(): string {
    return this.config.server.publicUrl || `http://${this.config.server.host}:${this.config.server.port}`;
  }

  /** `observe` learns the caller's address window (the per-account one is not theirs to see). */
  async login(email: string, password: string, address: string, observe?: RateLimitObserver): Promise<TokenPair> {
    const limits = this.config.auth.loginLimit;
    const who = normaliseEmail(email);
    await this.limiter.hit('login-addr', address, limits.perAddress, observe);
    await this.limiter.check('login-acct', who, limits.perAccount);
    const account = await this.ds.getRepository(Account).findOneBy({ email: who });
    const ok = await verifyPassword(account?.passwordHash ?? (await dummyHash()), password);
    if (!account || !ok) {
      await this.limiter.hit('login-acct', who, limits.perAccount).catch(() => undefined);
      throw new UnauthenticatedError('Wrong email or password');
    }
    await this.limiter.reset('login-acct', who);
    if (needsRehash(account.passwordHash)) await this.rehash(account, password);
    return this.openSession(account, address);
  }

  /** An imported account's old hash (bcrypt …) becomes argon2id, without the customer noticing. */
  private async rehash(account: Account, password: string): Promise<void> {
    const passwordHash = await hashPassword(password);
    // Only if unchanged since it was read: a password reset in between wins.
    await this.ds.getRepository(Account).update({ id: account.id, passwordHash: account.passwordHash }, { passwordHash });
    await audit(this.ds.manager, account.id, 'auth.password_rehashed', account.id, {});
  }

  private async openSession(account: Account, address: string): Promise<TokenPair> {
    const repo = this.ds.getRepository(Session);
    const session = await repo.save(repo.create({
      accountId: account.id,
      refreshHash: 'pending',
      expiresAt: new Date(this.clock.now().getTime() + this.config.auth.refreshTtlSeconds * 1000),
      createdFrom: address,
    }));
    const refreshToken = makeRefreshToken(session.id, 0);
    await repo.update(session.id, { refreshHash: sha256(refreshToken) });
    return this.pair(account, session.id, refreshToken);
  }

  private async pair(account: Account, sessionId: string, refreshToken: string): Promise<TokenPair> {
    const accessToken = await this.tokens.sign({ accountId: account.id, sessionId });
    return { accessToken, refreshToken, expiresIn: this.tokens.ttlSeconds, user: accountView(account) };
  }

  /** Rotates the refresh token; presenting an already-rotated one revokes the whole session. */
  async refresh(token: string): Promise<TokenPair> {
    const parsed = parseRefreshToken(token);
    if (!parsed) throw new UnauthenticatedError('Invalid refresh token');
    const outcome = await this.ds.transaction(async (m) => {
      const s = await m.getRepository(Session).findOne({ where: { id: parsed.sessionId }, lock: { mode: 'pessimistic_write' } });
      if (!s || s.revokedAt || s.expiresAt <= this.clock.now()) return { kind: 'invalid' as const };
      if (s.refreshHash !== sha256(token)) {
        await m.getRepository(Session).update(s.id, { revokedAt: this.clock.now(), revokedReason: 'refresh_token_reused' });
        return { kind: 'reused' as const, sessionId: s.id };
      }
      const next = makeRefreshToken(s.id, s.generation + 1);
      await m.getRepository(Session).update(s.id, { refreshHash: sha256(next), generation: s.generation + 1 });
      const account = await m.getRepository(Account).findOneByOrFail({ id: s.accountId });
      return { kind: 'ok' as const, account, next, sessionId: s.id };
    });
    if (outcome.kind === 'reused') {
      await this.cache.forget({ sessionId: outcome.sessionId });
      await this.revokeConsoles({ sessionId: outcome.sessionId, reason: 'refresh token reused' });
      this.logger.warn({ sessionId: outcome.sessionId }, 'refresh token reused: session revoked');
      throw new UnauthenticatedError('Refresh token already used; the session is revoked');
    }
    if (outcome.kind === 'invalid') throw new UnauthenticatedError('Session expired or revoked');
    return this.pair(outcome.account, outcome.sessionId, outcome.next);
  }

  async logout(sessionId: string): Promise<void> {
    await this.ds.getRepository(Session).update({ id: sessionId }, { revokedAt: this.clock.now(), revokedReason: 'logout' });
    await this.cache.forget({ sessionId });
    await this.revokeConsoles({ sessionId, reason: 'logged out' });
  }

  async revokeAll(accountId: string, reason: string): Promise<void> {
    await this.ds.createQueryBuilder().update(Session)
      .set({ revokedAt: this.clock.now(), revokedReason: reason })
      .where('account_id = :accountId AND revoked_at IS NULL', { accountId }).execute();
    await this.cache.forget({ accountId });
    await this.revokeConsoles({ accountId, reason });
  }

  /** The session row is already revoked, which refuses every later ticket; a lost order only leaves open consoles open. */
  private async revokeConsoles(r: ConsoleRevocation): Promise<void> {
    await this.closeConsoles(r).catch((err) => this.logger.warn({ err, ...r }, 'console close order not broadcast'));
  }

  /** Bearer access token → account, checked against the live session row. */
  async authenticate(ctx: Context): Promise<{ account: AccountView; sessionId: string }> {
    const token = bearerToken(ctx.get('authorization'));
    if (!token) throw new UnauthenticatedError();
    if (token.startsWith(API_KEY_PREFIX)) {
      if (!this.apiKeys) throw new UnauthenticatedError('API keys are not accepted here');
      return { account: await this.apiKeys.authenticate(ctx, token), sessionId: '' };
    }
    const claims = await this.tokens.verify(token);
    if (!claims) throw new UnauthenticatedError('Invalid or expired access token');
    const cached = this.cache.session(claims.sessionId, claims.accountId);
    if (cached) return { account: cached, sessionId: claims.sessionId };
    const account = await this.sessionLookup(claims.sessionId, claims.accountId);
    if (!account) throw new UnauthenticatedError('Session expired or revoked');
    this.cache.rememberSession(claims.sessionId, account);
    return { account, sessionId: claims.sessionId };
  }

  /**
   * One database lookup per session at a time: when a session's cache entry runs out under a
   * burst (a portal firing hundreds of requests), the requests in flight share one query instead
   * of queueing hundreds on the pool.
   */
  private sessionLookup(sessionId: string, accountId: string): Promise<AccountView | undefined> {
    const key = `${sessionId}:${accountId}`;
    let pending = this.lookups.get(key);
    if (!pending) {
      pending = this.liveSession(sessionId, accountId).finally(() => this.lookups.delete(key));
      this.lookups.set(key, pending);
    }
    return pending;
  }

  /** The account behind a session that is neither revoked nor expired, read from the database. */
  async liveSession(sessionId: string, accountId: string): Promise<AccountView | undefined> {
    const [a] = await hotQuery<{ id: string; email: string; role: 'user' | 'admin'; billing_exempt: boolean }>(this.ds, 'zpack_session',
      `SELECT a.id, a.email, a.role, a.billing_exempt FROM session s JOIN account a ON a.id = s.account_id
        WHERE s.id = $1 AND s.account_id = $2 AND s.revoked_at IS NULL AND s.expires_at > now()`,
      [sessionId, accountId],
    );
    return a && { id: a.id, email: a.email, role: a.role, billingExempt: a.billing_exempt };
  }

  /** Always succeeds from the caller's view, so it cannot be used to probe for accounts. */
  async requestPasswordReset(email: string, address: string, observe?: RateLimitObserver): Promise<void> {
    const who = normaliseEmail(email);
    try {
      // The address window first: it is the one the caller is told about, and it counts every request.
      await this.limiter.hit('reset-addr', address, this.config.auth.loginLimit.perAddress, observe);
      await this.limiter.hit('reset-acct', who, { max: 5, windowSeconds: 3600 });
    } catch {
      this.logger.warn({ address }, 'password reset rate limited');
      return;
    }
    const account = await this.ds.getRepository(Account).findOneBy({ email: who });
    if (!account) return;
    const token = randomToken();
    await this.ds.getRepository(PasswordReset).insert({
      accountId: account.id,
      tokenHash: sha256(token),
      expiresAt: new Date(this.clock.now().getTime() + this.config.auth.resetTtlSeconds * 1000),
      usedAt: null,
    });
    const base = this.publicUrl;
    await this.notifications.sendToOwner({
      to: account.email,
      template: 'password_reset',
      data: { token, email: account.email, url: `${base}/reset-password?token=${token}`, minutes: Math.round(this.config.auth.resetTtlSeconds / 60) },
    });
  }

  /** Consumes the token atomically (single use), sets the password, revokes every session. */
  async confirmPasswordReset(token: string, password: string): Promise<void> {
    this.checkPasswordStrength(password);
    const passwordHash = await hashPassword(password);
    const accountId = await this.ds.transaction(async (m) => {
      const [hit] = returnedRows<{ account_id: string }>(await m.query(
        `UPDATE password_reset SET used_at = now() WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING account_id`,
        [sha256(token), this.clock.now()],
      ));
      if (!hit) throw new InvalidRequestError('The reset token is invalid, expired or already used', { field: 'token' });
      await m.getRepository(Account).update(hit.account_id, { passwordHash });
      await m.createQueryBuilder().update(Session)
        .set({ revokedAt: this.clock.now(), revokedReason: 'password_reset' })
        .where('account_id = :id AND revoked_at IS NULL', { id: hit.account_id }).execute();
      return hit.account_id;
    });
    await this.cache.forget({ accountId });
    await this.revokeConsoles({ accountId, reason: 'password reset' });
  }

  private checkPasswordStrength(password: string): void {
    if (password.length < this.config.auth.passwordMinLength) {
      throw new InvalidRequestError(`Password must be at least ${this.config.auth.passwordMinLength} characters`, {
        fields: [{ path: 'body.password', message: 'too short' }],
      });
    }
  }
}
