import type { z } from 'zod';

/** The BootError code of a secret left empty outside simulate mode. */
export const SECRET_REQUIRED = 'secret_required';

/**
 * For a plugin options schema's superRefine, once it knows the plugin talks to the real system:
 * every named secret must be set. Secrets have no development default, so an empty one stops boot
 * with code `secret_required`, naming the key (plugins.<name>.options.<key>).
 */
export function requireSecrets<T extends object>(ctx: z.RefinementCtx, options: T, keys: ReadonlyArray<keyof T & string>, under: string[] = []): void {
  for (const key of keys) {
    const value = options[key];
    if (typeof value === 'string' && value.trim() !== '') continue;
    ctx.addIssue({
      code: 'custom', path: [...under, key], params: { bootCode: SECRET_REQUIRED },
      message: 'is a secret and has no default: set it from the environment',
    });
  }
}
