import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { parse, stringify } from 'yaml';
import { deepMerge } from '../../kernel/core/config';
import { CALLS_QUESTION, type ProbedCalls } from './call-probe';
import { freePort, spawnServer, type ServerProcess } from './server-process';

/** The repository root (this file runs from dist/bench/lib). */
export const projectRoot = path.resolve(__dirname, '..', '..', '..');

export const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = 'redis://127.0.0.1:6379';

/** Operator variables win over files; the bench's own YAML must decide everything. */
const OPERATOR_ENV = ['PORT', 'HOST', 'DATABASE_URL', 'REDIS_URL', 'ZPACK_ROLE', 'LOG_LEVEL', 'ZPACK_CONFIG'];

export type Role = 'api' | 'provision-worker' | 'repair-worker' | 'billing-worker' | 'controller' | 'simulators' | 'all';

export interface ZpackOptions {
  role: Role;
  /** Plugins this benchmark needs, with their options; every other plugin in default.yaml is disabled. */
  plugins?: Record<string, Record<string, unknown>>;
  /** Kernel settings on top of the bench's own (quota, provisioning, queues …). */
  config?: Record<string, unknown>;
  /** Join another zpack's database schema, Redis prefix and secrets (it owns them and cleans up). */
  joining?: ZpackProcess;
  /** Load the SQL/Redis call probe (lib/call-probe.ts) so `calls()` can ask the child. */
  probe?: boolean;
}

export interface ZpackProcess extends ServerProcess {
  schema: string;
  prefix: string;
  /** The auth section it was given, so another role can join it. */
  auth: Record<string, unknown>;
  /** The bearer token its GET /metrics asks for (Prometheus's). */
  metricsToken: string;
  /** With `probe`: SQL statements and Redis commands the child has sent so far. */
  calls(): Promise<ProbedCalls>;
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

/** Roles that serve HTTP are ready when /readyz is 200; the others when they log that they started. */
const SERVES_HTTP: Role[] = ['api', 'all'];

/**
 * `node dist/kernel/main.js <role>` on its own port, schema and Redis prefix (or those of
 * `joining`); resolves once /readyz is 200, or for a role without HTTP once it logged its start.
 */
export async function startZpack(opts: ZpackOptions): Promise<ZpackProcess> {
  const id = randomBytes(5).toString('hex');
  const schema = opts.joining?.schema ?? `bench_${id}`;
  const prefix = opts.joining?.prefix ?? `zbench-${id}`;
  const http = SERVES_HTTP.includes(opts.role);
  const port = http ? await freePort() : 0;
  const metricsToken = opts.joining?.metricsToken ?? randomBytes(24).toString('base64url');
  const auth = opts.joining?.auth ?? {
    jwtSecret: randomBytes(30).toString('base64url'),
    agentTokenSecret: randomBytes(30).toString('base64url'),
    loginLimit: { perAddress: { max: 1_000_000, windowSeconds: 60 } },
    registerLimit: { perAddress: { max: 1_000_000, windowSeconds: 60 } },
  };
  const configFile = path.join(tmpdir(), `zpack-bench-${id}.yaml`);
  writeFileSync(configFile, stringify(deepMerge({
    server: { host: '127.0.0.1', port },
    database: { url: DATABASE_URL, schema, dropSchemaOnStop: !opts.joining },
    redis: { url: REDIS_URL, prefix },
    auth,
    // The bench's console client is not a browser: it sends no Origin.
    console: { allowMissingOrigin: true },
    // A role without HTTP says it is up only in its log ('zpack started', at info; it logs nothing per job).
    logging: { level: http ? 'warn' : 'info' },
    metrics: { token: metricsToken },
    plugins: pluginSection(opts.plugins ?? {}),
    // A benchmark's simulated world lives in memory: never the checkout's ./data/sim, never shared by its processes.
    simulators: { stateDir: '' },
  }, opts.config ?? {})));

  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of OPERATOR_ENV) delete env[k];
  env.ZPACK_CONFIG = configFile;
  const main = path.join(projectRoot, 'dist', 'kernel', 'main.js');
  const probe = opts.probe ? ['--require', path.join(__dirname, 'call-probe.js')] : [];
  const server = await spawnServer({
    name: `zpack ${opts.role}`, args: [...extraNodeArgs, ...probe, main, opts.role], env, port, readyPath: '/readyz',
    readyLine: http ? undefined : /"msg":"zpack started"/, ipc: opts.probe,
    // Whoever joined a schema leaves it to its owner.
    afterExit: () => (opts.joining ? Promise.resolve(rmSync(configFile, { force: true })) : cleanUp(configFile, schema, prefix)),
  });
  return { ...server, schema, prefix, auth, metricsToken, calls: () => server.ask<ProbedCalls>(CALLS_QUESTION) };
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
