import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { BootError } from '../api';
import type { KernelConfig } from './config';
import { startEmbeddedPostgres } from './embedded-postgres';

export interface EmbeddedServices {
  /** Where the embedded PostgreSQL keeps its data, when this process uses one. */
  postgres?: { dataDir: string; port: number; owned: boolean };
  stop(): Promise<void>;
}

const REDIS_DEFAULT = 'redis://127.0.0.1:6379';

/**
 * Fills in what the embedded default needs: a PostgreSQL under ./data when no DATABASE_URL is
 * given (or the one another zpack process of this checkout already runs), and a Redis
 * (127.0.0.1:6379, else a redis-server from PATH under ./data). Every failure is a BootError.
 */
export async function startEmbedded(config: KernelConfig, root: string, logger: Logger): Promise<EmbeddedServices> {
  const stops: Array<() => Promise<void>> = [];
  const services: EmbeddedServices = {
    // Once: a failing one-shot command reaches it from two places.
    stop: async () => {
      for (const stop of stops.splice(0).reverse()) await stop();
    },
  };
  try {
    if (!config.database.url) {
      const pg = await startEmbeddedPostgres({ ...config.database.embedded, root, logger });
      config.database.url = pg.url;
      services.postgres = { dataDir: pg.dataDir, port: pg.port, owned: pg.owned };
      logger.info(services.postgres, pg.owned ? 'embedded PostgreSQL started' : 'embedded PostgreSQL already running: using it, and leaving it running');
      stops.push(async () => {
        if (pg.owned) logger.info('stopping embedded PostgreSQL');
        await pg.stop();
      });
    }
    if (!config.redis.url) config.redis.url = await embeddedRedis(config, root, logger, stops);
  } catch (err) {
    await services.stop().catch(() => undefined);
    throw err;
  }
  return services;
}

async function embeddedRedis(config: KernelConfig, root: string, logger: Logger, stops: Array<() => Promise<void>>): Promise<string> {
  if (await answers(REDIS_DEFAULT)) return REDIS_DEFAULT;
  const { dir, port } = config.redis.embedded;
  const url = `redis://127.0.0.1:${port}`;
  // Another zpack process of this checkout started it.
  if (await answers(url)) return url;
  if (spawnSync('sh', ['-c', 'command -v redis-server']).status !== 0) {
    throw new BootError('no Redis found: set REDIS_URL, start one on 127.0.0.1:6379, or install redis-server (apt-get install redis-server)', 'embedded_redis_failed');
  }
  const redisDir = path.resolve(root, dir);
  mkdirSync(redisDir, { recursive: true });
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
  let failed: string | undefined;
  child.once('error', (err) => void (failed = err.message));
  child.once('exit', (code) => void (failed ??= `it exited with code ${code}`));
  for (let i = 0; i < 50 && !failed && !(await answers(url)); i++) await sleep(100);
  if (failed || !(await answers(url))) {
    child.kill('SIGKILL');
    throw new BootError(`redis-server did not start on 127.0.0.1:${port} (${failed ?? 'no answer within 5 s'}): set REDIS_URL or free the port`, 'embedded_redis_failed');
  }
  logger.info({ dir: redisDir, port }, 'redis-server started');
  stops.push(async () => {
    logger.info('stopping redis-server');
    child.kill('SIGTERM');
  });
  return url;
}

/** Whether a Redis answers PING at `url` (one try, half a second; never throws). */
export async function answers(url: string): Promise<boolean> {
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
