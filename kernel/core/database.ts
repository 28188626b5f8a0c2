import { Client } from 'pg';
import { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { kernelEntities } from './entities';
import { kernelMigrations } from './migrations';

export interface DatabaseOptions {
  url: string;
  schema: string;
  entities: Function[];
  migrations: Function[];
  logger: Logger;
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
    extra: { options: `-c search_path=${opts.schema},public`, max: 20, connectionTimeoutMillis: 5000 },
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
