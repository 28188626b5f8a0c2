import { createHash, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify, errors } from 'jose';

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
export const randomToken = (bytes = 32): string => randomBytes(bytes).toString('base64url');

const REQUIRED_CLAIMS = ['exp', 'iat', 'sub', 'sid', 'pur'];

export interface AccessClaims {
  accountId: string;
  sessionId: string;
}

/**
 * Short-lived HS256 access tokens. `pur` pins the purpose so a token minted for something
 * else (console ticket, IDE) can never pass as an access token.
 */
export class AccessTokens {
  /** Imported once: handing jose raw bytes would re-import the key on every verify. */
  private readonly key: KeyObject;
  constructor(secret: string, readonly ttlSeconds: number) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  sign(c: AccessClaims, purpose = 'access', ttl = this.ttlSeconds): Promise<string> {
    return new SignJWT({ sid: c.sessionId, pur: purpose })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(c.accountId)
      .setIssuedAt()
      .setExpirationTime(`${ttl}s`)
      .setIssuer('zpack')
      .sign(this.key);
  }

  /** Returns the claims, or null for anything invalid, expired or of another purpose. */
  async verify(token: string, purpose = 'access'): Promise<AccessClaims | null> {
    const known = this.verified.get(token);
    if (known && known.purpose === purpose && known.exp > Date.now() / 1000) return known.claims;
    try {
      // A token without an expiry would be valid forever: every claim sign() sets must be there.
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'], issuer: 'zpack', requiredClaims: REQUIRED_CLAIMS });
      if (payload.pur !== purpose || typeof payload.sid !== 'string' || typeof payload.sub !== 'string') return null;
      const claims = { accountId: payload.sub, sessionId: payload.sid };
      this.remember(token, { claims, purpose, exp: payload.exp! });
      return claims;
    } catch (err) {
      if (err instanceof errors.JOSEError) return null;
      throw err;
    }
  }

  /**
   * A signature checked once is not checked again on every request of the same token: the
   * exact token string is the key, so a forged one never hits. Expiry is still enforced, and
   * the session row (revocation) is checked on every request by the caller.
   */
  private readonly verified = new Map<string, { claims: AccessClaims; purpose: string; exp: number }>();

  private remember(token: string, entry: { claims: AccessClaims; purpose: string; exp: number }): void {
    if (this.verified.size >= 20_000) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, entry);
  }
}

/** Refresh token = "<sessionId>.<generation>.<random>"; only its hash is stored. */
export function makeRefreshToken(sessionId: string, generation: number): string {
  return `${sessionId}.${generation}.${randomToken()}`;
}
export function parseRefreshToken(token: string): { sessionId: string; generation: number } | null {
  const m = /^([0-9a-f-]{36})\.(\d{1,9})\.[A-Za-z0-9_-]{20,}$/.exec(token);
  return m ? { sessionId: m[1], generation: Number(m[2]) } : null;
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string): string | null {
  return /^Bearer\s+(\S+)$/i.exec(header)?.[1] ?? null;
}
