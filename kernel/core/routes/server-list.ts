import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { z } from 'zod';
import { JsonText } from '../../api';
import type { EdgeProvider, InstanceView, PageKey } from '../../api';
import { encodeCursor } from '../../api/paging';
import { hotQuery } from '../database';
import { requireRowCursor } from '../http/paging';
import type { serverSchema } from './schemas';

/** The filters and page of a server list (GET /api/servers, GET /api/admin/servers). */
export interface ServerListQuery {
  limit: number;
  cursor?: PageKey;
  state?: string;
  type?: string;
  since?: Date;
}

type Server = z.input<typeof serverSchema>;
/** The answers the text stands for: a route declaring another shape does not compile with it. */
export type ServerPage = JsonText<{ servers: Server[]; nextCursor: string | null }>;
export type AdminServerPage = JsonText<{ servers: Array<Server & { ownerId: string }>; nextCursor: string | null }>;

interface ServerListScope {
  /** The servers this account owns or was invited to (an accepted invitation); absent: every live server. */
  visibleTo?: string;
  /** Each item names its owner (the admin list). */
  withOwner: boolean;
  /** Bound when enabled: it says where players join, from the instance itself. */
  edge?: EdgeProvider;
}

/** The page as Postgres writes it: one row, whatever the number of servers. */
interface PageRow {
  /** `{"servers":[…]`, each item's `connect` a MARK when an edge provider works it out here. */
  head: string;
  /** The key of the page's last item when another page follows, else null. */
  last_t: string | null;
  last_id: string | null;
  /** With an edge provider: what it reads of each listed instance, in the same order. */
  views?: Array<Omit<InstanceView, 'createdAt'> & { createdAt: string }>;
}

/** Stands for an item's `connect` member in the text; never in JSON text (to_json escapes control characters). */
const MARK = '\u0001';

const isoText = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** `"key":<value>,…` as SQL text; SQL NULL becomes JSON null. Keys are ours, never input. */
function members(pairs: Array<[string, string]>, leadingComma: boolean): string {
  return pairs.map(([key, expr], n) => `'${leadingComma || n ? ',' : ''}"${key}":' || coalesce(to_json(${expr})::text, 'null')`).join(' || ');
}

/** The server object of API.md (serverSchema), member by member in the order serverView gives them. */
const HEAD = `'{' || ${members([['id', 'i.id'], ['kind', 'i.kind'], ['type', 'i.type'], ['name', 'i.name'], ['state', 'i.state'], ['vmid', 'i.vmid'], ['node', 'i.node'], ['ports', 'i.ports']], false)}`;
const TAIL = (withOwner: boolean) =>
  `${members([['createdAt', isoText('i.created_at')], ['updatedAt', isoText('i.updated_at')], ...(withOwner ? [['ownerId', 'i.owner_id'] as [string, string]] : [])], true)} || '}'`;
/** An InstanceView (createdAt as text), for the edge provider. */
const VIEW = `json_build_object('id', i.id, 'ownerId', i.owner_id, 'kind', i.kind, 'type', i.type, 'name', i.name, 'state', i.state, 'vmid', i.vmid,
  'node', i.node, 'address', i.address, 'host', i.host, 'ports', i.ports, 'payload', i.payload, 'createdAt', ${isoText('i.created_at')})`;

/**
 * A page of servers, oldest first, written by Postgres as one JSON text (one row, whatever the
 * page size) and sent on as is. The list is the API's most read page; built from rows, each of
 * its hundred servers cost a dozen column reads, two parsed jsonb values, an object and its
 * serialisation, several times what sending the page costs. Keyset paging on (created_at, id)
 * as pageRows does, with the same cursors. One prepared statement per combination of filters,
 * its text built once.
 */
export class ServerList {
  private readonly statements = new Map<string, { name: string; text: string }>();

  constructor(private readonly ds: DataSource) {}

  /** The servers the account owns or was invited to (an accepted invitation). */
  async visibleTo(accountId: string, q: ServerListQuery, edge: EdgeProvider | undefined): Promise<ServerPage> {
    return new JsonText(await this.page(q, { visibleTo: accountId, withOwner: false, edge }));
  }

  /** Every live server, each naming its owner. */
  async everyone(q: ServerListQuery, edge: EdgeProvider | undefined): Promise<AdminServerPage> {
    return new JsonText(await this.page(q, { withOwner: true, edge }));
  }

  private async page(q: ServerListQuery, scope: ServerListScope): Promise<string> {
    const values: unknown[] = [];
    const param = (value: unknown) => `$${values.push(value)}`;
    const where = ['i.deleted_at IS NULL'];
    if (scope.visibleTo !== undefined) {
      const owner = param(scope.visibleTo);
      where.push(`(i.owner_id = ${owner} OR i.id IN (SELECT s.instance_id FROM subuser s WHERE s.account_id = ${owner} AND s.accepted_at IS NOT NULL))`);
    }
    if (q.state) where.push(`i.state = ${param(q.state)}`);
    if (q.type) where.push(`i.type = ${param(q.type)}`);
    if (q.since) where.push(`i.created_at >= ${param(q.since)}`);
    if (q.cursor) {
      requireRowCursor(q.cursor);
      where.push(`(i.created_at, i.id) > (TIMESTAMPTZ 'epoch' + CAST(${param(q.cursor.t)} AS bigint) * INTERVAL '1 microsecond', CAST(${param(q.cursor.id)} AS uuid))`);
    }
    // One row more than asked, to know whether another page follows; row `limit` keys the next
    // page. Numbered after the LIMIT, so the sort below it keeps only the top rows.
    const limit = param(q.limit);
    const beyond = param(q.limit + 1);
    const edge = scope.edge;
    const statement = this.statement(`${where.join(' AND ')} ${limit} ${beyond} ${scope.withOwner} ${!!edge}`, () =>
      `SELECT '{"servers":[' || coalesce(string_agg(p.item, ',' ORDER BY p.n) FILTER (WHERE p.n <= ${limit}), '') || ']' AS head,
              CASE WHEN count(*) > ${limit} THEN max(p.page_t) FILTER (WHERE p.n = ${limit}) END AS last_t,
              CASE WHEN count(*) > ${limit} THEN max(p.id) FILTER (WHERE p.n = ${limit}) END AS last_id
              ${edge ? `, json_agg(p.view ORDER BY p.n) FILTER (WHERE p.n <= ${limit}) AS views` : ''}
         FROM (SELECT l.*, row_number() OVER (ORDER BY l.at, l.uid) AS n
                 FROM (SELECT ${HEAD} || ${edge ? 'chr(1)' : `',"connect":null'`} || ${TAIL(scope.withOwner)} AS item,
                              CAST(EXTRACT(EPOCH FROM i.created_at) * 1000000 AS bigint)::text AS page_t, i.id::text AS id,
                              i.created_at AS at, i.id AS uid${edge ? `, ${VIEW} AS view` : ''}
                         FROM instance i WHERE ${where.join(' AND ')} ORDER BY i.created_at ASC, i.id ASC LIMIT ${beyond}) l) p`);
    const [page] = await hotQuery<PageRow>(this.ds, statement.name, statement.text, values);
    const nextCursor = page.last_t !== null && page.last_id !== null ? encodeCursor({ t: page.last_t, id: page.last_id }) : null;
    return `${edge ? withConnect(page, edge) : page.head},"nextCursor":${JSON.stringify(nextCursor)}}`;
  }

  private statement(key: string, text: () => string): { name: string; text: string } {
    let statement = this.statements.get(key);
    if (!statement) {
      const sql = text();
      statement = { name: `zpack_servers_${createHash('sha1').update(sql).digest('hex').slice(0, 16)}`, text: sql };
      this.statements.set(key, statement);
    }
    return statement;
  }
}

/** Each MARK in the page becomes its item's `connect`, worked out by the edge provider from the instance. */
function withConnect(page: PageRow, edge: EdgeProvider): string {
  const parts = page.head.split(MARK);
  const views = page.views ?? [];
  let text = parts[0];
  for (let n = 1; n < parts.length; n++) {
    const view = views[n - 1];
    const connect = edge.playerAddress({ ...view, createdAt: new Date(view.createdAt) }) ?? null;
    text += `,"connect":${JSON.stringify(connect)}${parts[n]}`;
  }
  return text;
}
