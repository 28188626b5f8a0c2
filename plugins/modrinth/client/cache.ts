import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface CachedAnswer {
  etag: string | null;
  body: unknown;
  /** Epoch ms of the last time Modrinth confirmed it (200 or 304). */
  checkedAt: number;
}

export interface CacheStats {
  hits: number;
  revalidated: number;
  misses: number;
}

/**
 * Modrinth's GET answers in Redis, shared by every API process: fresh for `freshSeconds`, then
 * revalidated with If-None-Match, kept for `keepSeconds`. Redis failing only costs the cache:
 * the catalog is asked directly.
 */
export class CatalogCache {
  readonly stats: CacheStats = { hits: 0, revalidated: 0, misses: 0 };

  constructor(
    private readonly redis: () => Redis | undefined,
    private readonly prefix: string,
    private readonly keepSeconds: number,
    private readonly logger: Logger,
  ) {}

  keyOf(url: string): string {
    return `${this.prefix}:${createHash('sha1').update(url).digest('hex')}`;
  }

  async get(url: string): Promise<CachedAnswer | undefined> {
    const redis = this.redis();
    if (!redis) return undefined;
    try {
      const text = await redis.get(this.keyOf(url));
      return text ? (JSON.parse(text) as CachedAnswer) : undefined;
    } catch (err) {
      this.logger.debug({ err }, 'catalog cache read failed');
      return undefined;
    }
  }

  async put(url: string, answer: CachedAnswer): Promise<void> {
    const redis = this.redis();
    if (!redis) return;
    await redis.set(this.keyOf(url), JSON.stringify(answer), 'EX', this.keepSeconds)
      .catch((err) => this.logger.debug({ err }, 'catalog cache write failed'));
  }

  /** The share of lookups answered without a full download from Modrinth (hits and 304s). */
  hitRatio(): number {
    const total = this.stats.hits + this.stats.revalidated + this.stats.misses;
    return total === 0 ? 0 : (this.stats.hits + this.stats.revalidated) / total;
  }
}
