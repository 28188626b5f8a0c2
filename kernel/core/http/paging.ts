import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InvalidRequestError } from '../../api';
import { encodeCursor as encode, type KeysetOrder, type Page, type PageKey as Key, type PageRequest } from '../../api/paging';
import { hotQuery } from '../database';

export { PAGE_LIMIT, since, pageQuery, paged } from '../../api/paging';
export type { KeysetOrder, Page, PageRequest } from '../../api/paging';

const uuid = z.uuid();

/**
 * One page of a query: keyset condition, total order on (time, id), one row more than asked to
 * know if another page follows. Lists are read often and whole pages at a time, so the query
 * runs as a prepared statement and its rows become entities column by column (pg has already
 * typed them), skipping TypeORM's general-purpose hydration, which cost more than the query.
 * A list that selects its own columns passes `rowOf` to read them from the raw row.
 */
export async function pageRows<E extends ObjectLiteral, T = E>(
  qb: SelectQueryBuilder<E>, page: PageRequest, order: KeysetOrder, rowOf?: (row: Record<string, unknown>) => T,
): Promise<Page<T>> {
  const a = qb.alias;
  const time = `${a}.${order.column}`;
  if (page.cursor) {
    requireRowCursor(page.cursor);
    const op = order.direction === 'ASC' ? '>' : '<';
    qb.andWhere(`(${time}, ${a}.id) ${op} (TIMESTAMPTZ 'epoch' + CAST(:pageT AS bigint) * INTERVAL '1 microsecond', CAST(:pageId AS uuid))`,
      { pageT: page.cursor.t, pageId: page.cursor.id });
  }
  qb.addSelect(`CAST(EXTRACT(EPOCH FROM ${time}) * 1000000 AS bigint)::text`, 'page_t')
    .orderBy(time, order.direction).addOrderBy(`${a}.id`, order.direction);
  const [query, params] = qb.getQueryAndParameters();
  // The limit is a parameter, so each list prepares a handful of statements, not one per limit.
  const sql = `${query} LIMIT $${params.length + 1}`;
  const name = `zpack_page_${createHash('sha1').update(sql).digest('hex').slice(0, 16)}`;
  const raw = await hotQuery<Record<string, unknown>>(qb.connection, name, sql, [...params, page.limit + 1]);
  const columns = qb.expressionMap.mainAlias!.metadata.columns.map((c) => [c.propertyName, `${a}_${c.databaseName}`] as const);
  const entity = rowOf ?? ((row: Record<string, unknown>): T => {
    const e: Record<string, unknown> = {};
    for (const [property, key] of columns) e[property] = row[key];
    return e as T;
  });
  if (raw.length <= page.limit) return { items: raw.map(entity), nextCursor: null };
  const last = raw[page.limit - 1];
  return { items: raw.slice(0, page.limit).map(entity), nextCursor: encode({ t: String(last.page_t), id: String(last[`${a}_id`]) }) };
}

/** The same paging over a list held in memory (what an agent answers), keyed by an ISO time and an id. */
export function pageList<T>(all: readonly T[], page: PageRequest, keyOf: (item: T) => { at: string; id: string }, direction: 'ASC' | 'DESC'): Page<T> {
  const sign = direction === 'ASC' ? 1 : -1;
  const keyed = all.map((item) => ({ item, key: toKey(keyOf(item)) }));
  keyed.sort((x, y) => sign * compare(x.key, y.key));
  const after = page.cursor;
  const rest = after ? keyed.filter((k) => sign * compare(k.key, after) > 0) : keyed;
  const items = rest.slice(0, page.limit);
  const nextCursor = rest.length > page.limit ? encode(items[items.length - 1].key) : null;
  return { items: items.map((k) => k.item), nextCursor };
}

function toKey({ at, id }: { at: string; id: string }): Key {
  const ms = Date.parse(at);
  return { t: String(Number.isFinite(ms) ? ms * 1000 : 0), id };
}

function compare(x: Key, y: Key): number {
  const dt = BigInt(x.t) - BigInt(y.t);
  if (dt !== 0n) return dt > 0n ? 1 : -1;
  return x.id < y.id ? -1 : x.id > y.id ? 1 : 0;
}

/** Refuses a well-formed cursor minted by another list (an agent's item id where rows have UUIDs): 400, not a database error. */
export function requireRowCursor(key: Key): void {
  if (!uuid.safeParse(key.id).success) throw foreignCursor();
}

/** A well-formed cursor minted by another list (an agent's item id where rows have UUIDs). */
function foreignCursor(): InvalidRequestError {
  return new InvalidRequestError('Invalid query', { fields: [{ path: 'query.cursor', message: 'is not a cursor of this list' }] });
}
