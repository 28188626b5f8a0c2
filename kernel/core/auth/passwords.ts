import { Algorithm, hash, verify } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';

/** argon2id with the library's defaults (19 MiB, t=2): the OWASP baseline. */
export const hashPassword = (password: string): Promise<string> => hash(password, { algorithm: Algorithm.Argon2id });

/** Hash formats a login can verify: ours, and those of systems whose accounts were imported. */
export type PasswordAlgorithm = 'argon2id' | 'argon2i' | 'argon2d' | 'bcrypt';

export function algorithmOf(stored: string): PasswordAlgorithm | null {
  if (/^\$argon2(id|i|d)\$/.test(stored)) return stored.slice(1, stored.indexOf('$', 1)) as PasswordAlgorithm;
  if (/^\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}$/.test(stored)) return 'bcrypt';
  return null;
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    const algorithm = algorithmOf(stored);
    if (algorithm === 'bcrypt') return await bcrypt.compare(password, stored);
    if (algorithm) return await verify(stored, password);
    return false;
  } catch {
    return false;
  }
}

/** An imported hash (bcrypt, older argon2) is replaced by argon2id at the first successful login. */
export const needsRehash = (stored: string): boolean => algorithmOf(stored) !== 'argon2id';

/** Verifying against this when the account does not exist keeps login timing uniform. */
let dummy: Promise<string> | undefined;
export const dummyHash = (): Promise<string> => (dummy ??= hash('zpack-timing-equaliser'));
