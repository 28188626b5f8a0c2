import type { DataSource } from 'typeorm';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { KernelHooks } from '../api';
import type { KernelConfig } from './config';
import type { KernelMetrics } from './metrics';
import type { KernelQueues } from './queues';

/** The kernel's shared services: what every part wired at boot (instances, the controller) is built from. */
export interface KernelServices {
  ds: DataSource;
  redis: Redis;
  config: KernelConfig;
  hooks: KernelHooks;
  queues: KernelQueues;
  logger: Logger;
  metrics: KernelMetrics;
}
