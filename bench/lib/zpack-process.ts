import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { parse, stringify } from 'yaml';
import { freePort, spawnServer, type ServerProcess } from './server-process';

/** The repository root (this file runs from dist/bench/lib). */
export const projectRoot = path.resolve(__dirname, '..', '..', '..');

export const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = 'redis://127.0.0.1:6379';

/** Operator variables win over files; the bench's own YAML must decide everything. */
const OPERATOR_ENV = ['PORT', 'HOST', 'DATABASE_URL', 'REDIS_URL', 'ZPACK_ROLE', 'LOG_LEVEL', 'ZPACK_CONFIG'];

export type Role = 'api' | 'provision-worker' | 'repair-worker' | 'billing-worker' | 'controller' | 'all';

export interface ZpackOptions {
  role: Role;
  /** Plugins this benchmark needs, with their options; every other plugin in default.yaml is disabled. */
  plugins?: Record<string, Record<string, unknown>>;
}

export interface ZpackProcess extends ServerProcess {
  schema: string;
  prefix: string;
}

/**
 * Extra flags for the zpack child only, to look inside a run, e.g.
 * ZPACK_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/zpack-prof".
 */
const extraNodeArgs = (process.env.ZPACK_BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);

/** The plugins config/default.yaml lists, each disabled unless the benchmark asked for it. */
function pluginSection(wanted: Record<string, Record<string, unknown>>): Record<string, unknown> {
  const defaults = parse(readFileSync(path.join(projectRoot, 'config', 'default.yaml'), 'utf8'))?.plugins ?? {};
  const section: Record<string, unknown> = {};
  for (const name of Object.keys(defaults)) section[name] = { enabled: false };
  for (const [name, options] of Object.entries(wanted)) section[name] = { enabled: true, options };
  return section;
}

/** `node dist/kernel/main.js <role>` on its own port, schema and Redis prefix; resolves once /readyz is 200. */
export async function startZpack(opts: ZpackOptions): Promise<ZpackProcess> {
  const id = randomBytes(5).toString('hex');
  const schema = `bench_${id}`;
  const prefix = `zbench-${id}`;
  const port = await freePort();
  const configFile = path.join(tmpdir(), `zpack-bench-${id}.yaml`);
  writeFileSync(configFile, stringify({
    server: { host: '127.0.0.1', port },
    database: { url: DATABASE_URL, schema, dropSchemaOnStop: true },
    redis: { url: REDIS_URL, prefix },
    auth: {
      jwtSecret: randomBytes(30).toString('base64url'),
      agentTokenSecret: randomBytes(30).toString('base64url'),
      loginLimit: { perAddress: { max: 1_000_000, windowSeconds: 60 } },
    },
    // The bench's console client is not a browser: it sends no Origin.
    console: { allowMissingOrigin: true },
    logging: { level: 'warn' },
    plugins: pluginSection(opts.plugins ?? {}),
  }));

  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of OPERATOR_ENV) delete env[k];
  env.ZPACK_CONFIG = configFile;
  const main = path.join(projectRoot, 'dist', 'kernel', 'main.js');
  const server = await spawnServer({
    name: `zpack ${opts.role}`, args: [...extraNodeArgs, main, opts.role], env, port, readyPath: '/readyz',
    afterExit: () => cleanUp(configFile, schema, prefix),
  });
  return { ...server, schema, prefix };
}

/** The child drops its schema on a clean stop; this covers the unclean ones and the Redis keys it left. */
async function cleanUp(configFile: string, schema: string, prefix: string): Promise<void> {
  rmSync(configFile, { force: true });
  const pg = new Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 5000 });
  await pg.connect();
  try {
    const left = await pg.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [schema]);
    if (left.rowCount) {
      console.error(`  ! schema ${schema} was left behind; dropping it`);
      await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  } finally {
    await pg.end();
  }
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 3000 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
