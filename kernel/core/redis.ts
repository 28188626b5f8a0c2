import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * Connections for this kernel. BullMQ workers need maxRetriesPerRequest: null; request-path
 * commands get a bounded retry so a dead Redis answers 503 instead of hanging the request.
 */
export function connectRedis(url: string, purpose: 'command' | 'worker'): Redis {
  return new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: purpose === 'worker',
    maxRetriesPerRequest: purpose === 'worker' ? null : 1,
    connectTimeout: 3000,
    commandTimeout: purpose === 'worker' ? undefined : 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
}

/** A pub/sub connection beside `redis`: it waits for its connection and keeps no command deadline. */
export function subscriberOf(redis: Redis, logger: Logger, purpose: string): Redis {
  const subscriber = redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined });
  subscriber.on('error', (err) => logger.debug({ err: err.message }, `${purpose} subscriber error`));
  return subscriber;
}
