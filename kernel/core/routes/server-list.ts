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

interface ListedRow {
  /** The item's JSON text up to `ports`, and after `connect` (the one member worked out here). */
  head: string;
  tail: string;
  id: string;
  page_t: string;
}

/** What an EdgeProvider reads, selected only when one is bound (it parses two jsonb columns per row). */
interface ViewRow extends ListedRow {
  owner_id: string; kind: string; type: string; name: string; state: string; vmid: number | null; node: string | null;
  address: string | null; host: string | null; ports: InstanceView['ports']; payload: Record<string, unknown>; created_iso: string;
}

const isoText = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** `"key":<value>,…` as SQL text; SQL NULL becomes JSON null. Keys are ours, never input. */
function members(pairs: Array<[string, string]>, leadingComma: boolean): string {
  return pairs.map(([key, expr], n) => `'${leadingComma || n ? ',' : ''}"${key}":' || coalesce(to_json(${expr})::text, 'null')`).join(' || ');
}

/** The server object of API.md (serverSchema), member by member in the order serverView gives them. */
const HEAD = `'{' || ${members([['id', 'i.id'], ['kind', 'i.kind'], ['type', 'i.type'], ['name', 'i.name'], ['state', 'i.state'], ['vmid', 'i.vmid'], ['node', 'i.node'], ['ports', 'i.ports']], false)}`;
const TAIL = (withOwner: boolean) =>
  `${members([['createdAt', isoText('i.created_at')], ['updatedAt', isoText('i.updated_at')], ...(withOwner ? [['ownerId', 'i.owner_id'] as [string, string]] : [])], true)} || '}'`;
const VIEW_COLUMNS = `, i.owner_id, i.kind, i.type, i.name, i.state, i.vmid, i.node, i.address, i.host, i.ports, i.payload, ${isoText('i.created_at')} AS created_iso`;

/**
 * A page of servers, oldest first, written as JSON text by Postgres and sent on as is. The list
 * is the API's most read page; built from rows, each of its hundred servers cost a dozen column
 * reads, two parsed jsonb values, an object and its serialisation, several times what sending
 * the page costs. Keyset paging on (created_at, id) as pageRows does, with the same cursors.
 * One prepared statement per combination of filters, its text built once.
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
    // One row more than asked, to know whether another page follows.
    const limit = param(q.limit + 1);
    const statement = this.statement(`${where.join(' AND ')} ${limit} ${scope.withOwner} ${!!scope.edge}`, () =>
      `SELECT ${HEAD} AS head, ${TAIL(scope.withOwner)} AS tail, i.id::text AS id,
              CAST(EXTRACT(EPOCH FROM i.created_at) * 1000000 AS bigint)::text AS page_t${scope.edge ? VIEW_COLUMNS : ''}
         FROM instance i WHERE ${where.join(' AND ')} ORDER BY i.created_at ASC, i.id ASC LIMIT ${limit}`);
    const rows = await hotQuery<ListedRow>(this.ds, statement.name, statement.text, values);
    const items = rows.length > q.limit ? rows.slice(0, q.limit) : rows;
    const last = items[items.length - 1];
    const nextCursor = rows.length > q.limit ? encodeCursor({ t: last.page_t, id: last.id }) : null;
    const edge = scope.edge;
    const connect = edge ? (row: ListedRow) => JSON.stringify(edge.playerAddress(instanceOf(row as ViewRow)) ?? null) : () => 'null';
    const listed = items.map((row) => `${row.head},"connect":${connect(row)}${row.tail}`);
    return `{"servers":[${listed.join(',')}],"nextCursor":${JSON.stringify(nextCursor)}}`;
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

function instanceOf(row: ViewRow): InstanceView {
  return {
    id: row.id, ownerId: row.owner_id, kind: row.kind, type: row.type, name: row.name, state: row.state as InstanceView['state'],
    vmid: row.vmid, node: row.node, address: row.address, host: row.host, ports: row.ports, payload: row.payload, createdAt: new Date(row.created_iso),
  };
}
