import { Client, DatabaseError } from 'pg';
import { DataSource, QueryFailedError } from 'typeorm';
import type { Logger } from 'pino';
import { kernelEntities } from './entities';
import { kernelMigrations } from './migrations';

export interface DatabaseOptions {
  url: string;
  schema: string;
  entities: Function[];
  migrations: Function[];
  logger: Logger;
  pool?: { max: number; connectionTimeoutMs: number };
}

/**
 * One DataSource per kernel. The search_path is pinned to the configured schema so that
 * migrations written with unqualified names land there (a test run owns its own schema).
 */
export async function openDatabase(opts: DatabaseOptions): Promise<DataSource> {
  await ensureSchema(opts.url, opts.schema);
  const ds = new DataSource({
    type: 'postgres',
    url: opts.url,
    schema: opts.schema,
    entities: [...kernelEntities, ...opts.entities],
    migrations: [...kernelMigrations, ...opts.migrations],
    migrationsTableName: 'zpack_migrations',
    synchronize: false,
    logging: false,
    extra: { options: `-c search_path=${opts.schema},public`, max: opts.pool?.max ?? 20, connectionTimeoutMillis: opts.pool?.connectionTimeoutMs ?? 5000 },
  });
  await ds.initialize();
  return ds;
}

export async function runMigrations(ds: DataSource, logger: Logger): Promise<string[]> {
  const ran = await ds.runMigrations({ transaction: 'each' });
  for (const m of ran) logger.info({ migration: m.name }, 'migration applied');
  return ran.map((m) => m.name);
}

async function ensureSchema(url: string, schema: string): Promise<void> {
  if (schema === 'public') return;
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } finally {
    await client.end();
  }
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  if (schema === 'public') return;
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Rows of an UPDATE/DELETE … RETURNING run through query(): TypeORM answers [rows, count] for those. */
export function returnedRows<T>(result: unknown): T[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[0] as T[];
  return result as T[];
}

/**
 * A named prepared statement straight on the driver's pool, for the few queries on the hot path
 * of every request: Postgres plans them once per connection instead of on every call, and no
 * TypeORM query runner is set up around them.
 */
export async function hotQuery<T>(ds: DataSource, name: string, text: string, values: unknown[]): Promise<T[]> {
  const pool = (ds.driver as unknown as { master: { query(q: { name: string; text: string; values: unknown[] }): Promise<{ rows: T[] }> } }).master;
  return (await pool.query({ name, text, values })).rows;
}

/**
 * A raw row (column names as keys: a RETURNING *, or a to_jsonb of the row) as the entity a
 * TypeORM read would have given, without a query builder around the statement.
 */
export function hydrate<T>(ds: DataSource, entity: new () => T, raw: Record<string, unknown>): T {
  const meta = ds.getMetadata(entity);
  const row = meta.create() as T;
  for (const column of meta.columns) column.setEntityValue(row as object, ds.driver.prepareHydratedValue(raw[column.databaseName], column));
  return row;
}

/**
 * SQLSTATEs of a server that is going away, not yet there or full: 57P01 admin_shutdown, 57P02
 * crash_shutdown, 57P03 cannot_connect_now, 53300 too_many_connections (a fleet's pools over max_connections).
 */
const SHUTDOWN_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
/** Socket failures on the way to Postgres; our HTTP clients wrap theirs in domain errors, so bare ones are the driver's. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** What pg and pg-pool throw when a connection drops or cannot be made in time. */
const DRIVER_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;

/**
 * True when `err` says Postgres could not be reached (down, restarting, failing over), as opposed
 * to a query Postgres refused: the work may simply be tried again once it is back.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err instanceof QueryFailedError ? err.driverError : err;
  if (e instanceof DatabaseError) return e.code !== undefined && (e.code.startsWith('08') || SHUTDOWN_STATES.has(e.code));
  if (!(e instanceof Error)) return false;
  const code = (e as NodeJS.ErrnoException).code;
  return (code !== undefined && SOCKET_CODES.has(code)) || DRIVER_MESSAGES.test(e.message);
}
