import { Redis } from 'ioredis';

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
