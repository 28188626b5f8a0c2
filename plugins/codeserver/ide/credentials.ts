import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** What an IDE token or cookie stands for: one container, one account, the login session that asked, purpose `ide`. */
export interface IdeGrant {
  /** Random per credential: a token is spent by it. */
  nonce?: string;
  instanceId: string;
  accountId: string;
  sessionId: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

type Kind = 'token' | 'cookie';
const PURPOSE = 'ide';

/**
 * IDE credentials are signed, not stored: the token POST …/ide-token hands out (exchanged at the
 * bootstrap) and the cookie it becomes. Each names its kind and purpose, so one never passes for
 * the other, and the instance it opens, so a credential for one container never opens another.
 */
export class IdeCredentials {
  private readonly key: Buffer;

  constructor(secret: string) {
    // Simulate mode may run without a secret: a fresh one per process (tokens then die with it).
    this.key = createHmac('sha256', 'zpack-codeserver-ide').update(secret || randomBytes(32)).digest();
  }

  issue(kind: Kind, grant: IdeGrant): string {
    const body = Buffer.from(JSON.stringify({ k: kind, p: PURPOSE, i: grant.instanceId, a: grant.accountId, s: grant.sessionId, x: grant.expiresAt, n: randomBytes(12).toString('base64url') })).toString('base64url');
    return `${body}.${this.sign(body)}`;
  }

  /** The grant, or null when forged, of another kind or purpose, malformed or expired at `now`. */
  verify(kind: Kind, presented: string | undefined, now: number): IdeGrant | null {
    if (!presented || presented.length > 2048) return null;
    const [body, signature, extra] = presented.split('.');
    if (!body || !signature || extra !== undefined) return null;
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    let claims: { k?: unknown; p?: unknown; i?: unknown; a?: unknown; s?: unknown; x?: unknown };
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return null;
    }
    const { k, p, i, a, s, x, n } = claims as typeof claims & { n?: unknown };
    if (k !== kind || p !== PURPOSE || typeof i !== 'string' || typeof a !== 'string' || typeof s !== 'string' || typeof x !== 'number' || typeof n !== 'string') return null;
    if (x <= now) return null;
    return { instanceId: i, accountId: a, sessionId: s, expiresAt: x, nonce: n };
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}

export const IDE_COOKIE = 'zpack_ide';

/**
 * The one IDE cookie: host-only (no Domain), HttpOnly, Secure, SameSite=Lax, under `path`. Not
 * Secure only when the IDE is served over plain http (`publicScheme: http`, the embedded default):
 * a browser would drop a Secure cookie set there, and the IDE would never open.
 */
export function ideCookie(value: string, path: string, maxAgeSeconds: number, secure = true): string {
  return `${IDE_COOKIE}=${value}; Path=${path}; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}; HttpOnly;${secure ? ' Secure;' : ''} SameSite=Lax`;
}

/** The IDE cookie's value from a Cookie header, or undefined. */
export function readIdeCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === IDE_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Cookie header without the IDE cookie: code-server never sees our credential. */
export function withoutIdeCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const kept = header.split(';').map((p) => p.trim()).filter((p) => p && !p.startsWith(`${IDE_COOKIE}=`));
  return kept.length ? kept.join('; ') : undefined;
}
