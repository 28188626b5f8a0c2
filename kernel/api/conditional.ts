import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import { z } from 'zod';
import { PreconditionFailedError } from './errors';

/** The document's words for the conditional-request headers, shared by every route that honours them. */
export const ETAG = { ETag: 'This representation\'s version: send it back as If-None-Match (304 while unchanged) or If-Match (412 once stale)' };
export const IF_NONE_MATCH = z.string().optional().meta({ description: 'An ETag you hold: 304 without a body while it is still current' });
export const IF_MATCH = z.string().optional().meta({ description: 'The ETag you last read: 412 precondition_failed when the resource has changed since' });

/** A strong entity tag of a JSON representation: the same bytes, the same tag. */
export const jsonTag = (body: unknown): string => `"${createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 27)}"`;

/**
 * Checks `If-Match` before a write (RFC 9110 §13.1.1, strong comparison): absent lets the write
 * through, `*` needs the resource to exist, otherwise one listed tag must be the current one.
 */
export function requireMatch(ctx: Context, what: string, current: string | null): void {
  const header = ctx.get('if-match').trim();
  if (!header) return;
  if (header === '*' ? current !== null : current !== null && header.split(',').some((t) => t.trim() === current)) return;
  throw new PreconditionFailedError(what, current);
}

/** Whether the request makes its write conditional, so the current version must be looked up first. */
export const conditional = (ctx: Context): boolean => ctx.get('if-match').trim() !== '';
