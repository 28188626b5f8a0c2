import type { Redis } from 'ioredis';
import { RateLimitedError } from '../../api';

export interface Window {
  max: number;
  windowSeconds: number;
}

/** Where a caller stands in one window, as the RateLimit-* response headers tell it. */
export interface RateLimitState {
  limit: number;
  remaining: number;
  resetSeconds: number;
}
export type RateLimitObserver = (state: RateLimitState) => void;

/** An observer that tells the caller where it stands: RateLimit-Limit / -Remaining / -Reset (seconds), 429s included. */
export const rateLimitHeaders = (ctx: { set(name: string, value: string): void }): RateLimitObserver => (s) => {
  ctx.set('RateLimit-Limit', String(s.limit));
  ctx.set('RateLimit-Remaining', String(s.remaining));
  ctx.set('RateLimit-Reset', String(s.resetSeconds));
};

/** Fixed-window counters in Redis, shared by every API process. */
export class RateLimiter {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  /** Counts one hit and tells `observe` what is left; throws RateLimitedError (with Retry-After) once over the limit. */
  async hit(bucket: string, id: string, w: Window, observe?: RateLimitObserver): Promise<void> {
    const key = this.key(bucket, id);
    const res = await this.redis.multi().incr(key).expire(key, w.windowSeconds, 'NX').ttl(key).exec();
    const count = Number(res?.[0]?.[1] ?? 0);
    const ttl = Math.max(1, Number(res?.[2]?.[1] ?? w.windowSeconds));
    observe?.({ limit: w.max, remaining: Math.max(0, w.max - count), resetSeconds: ttl });
    if (count > w.max) throw new RateLimitedError(ttl);
  }

  /** Throws if the bucket is already over the limit, without counting. */
  async check(bucket: string, id: string, w: Window): Promise<void> {
    const key = this.key(bucket, id);
    const [count, ttl] = await Promise.all([this.redis.get(key), this.redis.ttl(key)]);
    if (Number(count ?? 0) >= w.max) throw new RateLimitedError(Math.max(1, ttl));
  }

  async reset(bucket: string, id: string): Promise<void> {
    await this.redis.del(this.key(bucket, id));
  }

  private key(bucket: string, id: string): string {
    return `${this.prefix}:rl:${bucket}:${id}`;
  }
}
