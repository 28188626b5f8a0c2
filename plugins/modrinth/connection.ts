import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { BootError, ProviderError, type SimulatorDirectory } from '../../kernel/api';
import { CatalogCache } from './client/cache';
import { ModrinthClient } from './client/modrinth-client';
import type { ModrinthConfig } from './config';
import { ModrinthSimulator } from './testing/simulator';

/** The plugin's link to Modrinth, one per kernel: the client, its cache and, in simulate mode, the simulator. */
export class ModrinthConnection {
  simulator?: ModrinthSimulator;
  cache?: CatalogCache;
  private current?: ModrinthClient;

  constructor(private readonly config: ModrinthConfig) {}

  get client(): ModrinthClient {
    if (!this.current) throw new ProviderError('modrinth', 'connect', 'the modrinth plugin has not started', { reason: 'not_started' });
    return this.current;
  }

  /** `defaultKeyPrefix`: the cache's keys when cache.keyPrefix is empty. */
  async open(logger: Logger, redis: Redis | undefined, simulators: SimulatorDirectory | undefined, defaultKeyPrefix: string): Promise<void> {
    const c = this.config;
    let baseUrl = c.baseUrl;
    if (c.simulate && simulators?.remote) {
      // `zpack simulators` runs the catalog for every process of the fleet.
      baseUrl = simulators.require('modrinth');
    } else if (c.simulate) {
      this.simulator = new ModrinthSimulator(c.simulator);
      baseUrl = await this.simulator.start().catch((err: Error) => {
        throw new BootError(`modrinth simulator cannot listen on ${c.simulator.host}:${c.simulator.port}: ${err.message}`);
      });
      simulators?.publish('modrinth', baseUrl);
      logger.info({ url: baseUrl }, 'modrinth simulator listening');
    }
    this.cache = new CatalogCache(() => redis, c.cache.keyPrefix || defaultKeyPrefix, c.cache.keepSeconds, logger);
    this.current = new ModrinthClient({
      baseUrl, userAgent: c.userAgent, timeoutMs: c.timeoutMs, freshSeconds: c.cache.freshSeconds, maxFileBytes: c.maxFileBytes,
      unavailableRetrySeconds: c.unavailableRetrySeconds,
    }, this.cache);
  }

  async close(): Promise<void> {
    await this.current?.close();
    this.current = undefined;
    await this.simulator?.stop();
    this.simulator = undefined;
  }
}
