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
