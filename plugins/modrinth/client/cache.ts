import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface CachedAnswer {
  etag: string | null;
  /** Modrinth's answer as it came, JSON text. */
  body: Buffer;
  /** Epoch ms of the last time Modrinth confirmed it (200 or 304). */
  checkedAt: number;
}

export interface CacheStats {
  hits: number;
  revalidated: number;
  misses: number;
}

interface PendingRead {
  key: string;
  settle: (value: Buffer | null) => void;
}

/** Between the header line and Modrinth's bytes. */
const NEWLINE = 0x0a;

/**
 * Modrinth's GET answers in Redis, shared by every API process: fresh for `freshSeconds`, then
 * revalidated with If-None-Match, kept for `keepSeconds`. Redis failing only costs the cache:
 * the catalog is asked directly.
 *
 * A busy portal sends hundreds of searches at once, and on this path each Redis command sent
 * alone costs a socket write, more than the rest of the lookup. So the reads and writes asked
 * for in one turn of the event loop leave together: one pipeline holding the writes and a single
 * MGET. An entry is stored as a JSON header line (ETag, check time) followed by Modrinth's bytes
 * untouched, so nothing is serialised again on the way in.
 */
export class CatalogCache {
  readonly stats: CacheStats = { hits: 0, revalidated: 0, misses: 0 };
  private reads: PendingRead[] = [];
  private writes: Array<[key: string, value: Buffer]> = [];
  private flushing = false;

  constructor(
    private readonly redis: () => Redis | undefined,
    private readonly prefix: string,
    private readonly keepSeconds: number,
    private readonly logger: Logger,
  ) {}

  keyOf(url: string): string {
    return `${this.prefix}:${createHash('sha1').update(url).digest('hex')}`;
  }

  get(url: string): Promise<CachedAnswer | undefined> {
    if (!this.redis()) return Promise.resolve(undefined);
    return new Promise<Buffer | null>((settle) => {
      this.reads.push({ key: this.keyOf(url), settle });
      this.schedule();
    }).then(decode);
  }

  /** Queued, never awaited on the answer's path: a failed write only costs the cache. */
  put(url: string, answer: CachedAnswer): void {
    if (!this.redis()) return;
    const header = Buffer.from(`${JSON.stringify({ etag: answer.etag, checkedAt: answer.checkedAt })}\n`);
    this.writes.push([this.keyOf(url), Buffer.concat([header, answer.body])]);
    this.schedule();
  }

  /** The share of lookups answered without a full download from Modrinth (hits and 304s). */
  hitRatio(): number {
    const total = this.stats.hits + this.stats.revalidated + this.stats.misses;
    return total === 0 ? 0 : (this.stats.hits + this.stats.revalidated) / total;
  }

  private schedule(): void {
    if (this.flushing) return;
    this.flushing = true;
    // After the I/O callbacks of this turn: every request parsed in it has queued its lookup by then.
    setImmediate(() => {
      this.flushing = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const reads = this.reads;
    const writes = this.writes;
    this.reads = [];
    this.writes = [];
    const redis = this.redis();
    if (!redis) return reads.forEach((r) => r.settle(null));
    // Writes first: a read queued beside a write of the same key sees the newer answer.
    const pipeline = redis.pipeline();
    for (const [key, value] of writes) pipeline.set(key, value, 'EX', this.keepSeconds);
    if (reads.length) pipeline.mgetBuffer(reads.map((r) => r.key));
    try {
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([err]) => err)?.[0];
      if (failed) this.logger.debug({ err: failed }, 'catalog cache command failed');
      const [err, values] = reads.length ? results[results.length - 1] ?? [null, []] : [null, []];
      reads.forEach((r, i) => r.settle(err ? null : ((values as Array<Buffer | null>)[i] ?? null)));
    } catch (err) {
      this.logger.debug({ err }, 'catalog cache unreachable');
      reads.forEach((r) => r.settle(null));
    }
  }
}

/** An entry as `put` stored it; anything else (an older layout, a damaged value) is a miss. */
function decode(value: Buffer | null): CachedAnswer | undefined {
  if (!value) return undefined;
  const end = value.indexOf(NEWLINE);
  if (end < 0) return undefined;
  try {
    const header = JSON.parse(value.subarray(0, end).toString('utf8')) as { etag?: unknown; checkedAt?: unknown };
    if (typeof header.checkedAt !== 'number') return undefined;
    return { etag: typeof header.etag === 'string' ? header.etag : null, checkedAt: header.checkedAt, body: value.subarray(end + 1) };
  } catch {
    return undefined;
  }
}
