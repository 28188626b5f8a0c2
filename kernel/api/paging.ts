import { z, type ZodRawShape } from 'zod';
import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';

/**
 * Keyset paging shared by every list of the API: `limit` (default 50, max 200) and an opaque
 * `cursor` in, `nextCursor` out, in a stable order on (time, id). A cursor is the last row's
 * key, base64url-encoded; the time is kept to the microsecond Postgres stores.
 */
export const PAGE_LIMIT = { default: 50, max: 200 } as const;

export interface PageKey {
  /** Microseconds since the epoch, as decimal text (beyond a double's exact range). */
  t: string;
  id: string;
}

/** Row ids are UUIDs; items an agent lists (backups) have ids of file-name characters. */
const keySchema = z.object({ t: z.string().regex(/^\d{1,17}$/), id: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/) }).strict();

/** The cursor in the query string: a malformed one is 400 on `query.cursor`, never a 500 in the database. */
const cursor = z.string().max(200).transform((text, ctx): PageKey => {
  const parsed = /^[A-Za-z0-9_-]+$/.test(text) ? keySchema.safeParse(decode(text)) : undefined;
  if (parsed?.success) return parsed.data;
  ctx.addIssue({ code: 'custom', message: 'is not a cursor this API issued' });
  return z.NEVER;
});

function decode(text: string): unknown {
  try {
    return JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

export const encodeCursor = (key: PageKey): string => Buffer.from(JSON.stringify(key)).toString('base64url');

/** `since`: only items at or after this instant (ISO-8601). */
export const since = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

/** The query schema of a list: paging plus the filters the list documents (the router makes it strict). */
export function pageQuery<F extends ZodRawShape>(filters: F) {
  return z.object({
    limit: z.coerce.number().int().min(1).max(PAGE_LIMIT.max).default(PAGE_LIMIT.default).meta({ description: 'Items per page' }),
    cursor: cursor.optional().meta({ description: 'The nextCursor of the previous page; absent for the first page' }),
    ...filters,
  });
}

/** The answer of a list: its items under their name, and the cursor of the page after this one. */
export function paged<I extends ZodRawShape>(items: I) {
  return z.object({
    ...items,
    nextCursor: z.string().nullable().meta({ description: 'Pass as cursor to get the next page; null on the last page' }),
  });
}

export interface PageRequest {
  limit: number;
  cursor?: PageKey;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface KeysetOrder {
  /** The time column of the table, e.g. 'created_at'. */
  column: string;
  direction: 'ASC' | 'DESC';
}


/** Runs one page of a query builder (prepared statement, rows read column by column); Tokens.Pager. */
export interface Pager {
  page<E extends ObjectLiteral, T = E>(qb: SelectQueryBuilder<E>, page: PageRequest, order: KeysetOrder, rowOf?: (row: Record<string, unknown>) => T): Promise<Page<T>>;
}
