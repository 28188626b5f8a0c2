import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Notifications } from '../../api';
import type { QueueStats } from '../queues';
import type { ControllerMetrics } from './metrics';

export interface QueueAlertLimits {
  waitingSeconds: number;
  activeSeconds: number;
  cooldownSeconds: number;
}

/**
 * Tells operators when a queue's oldest waiting or active job is too old. A stuck queue stays
 * stuck for many passes: one alert per queue per cooldown (a Redis key shared by the fleet).
 */
export class QueueAlerts {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limits: () => QueueAlertLimits,
    private readonly notifications: () => Notifications,
    private readonly metrics: ControllerMetrics,
    private readonly logger: Logger,
  ) {}

  /** `mayWrite` is checked right before an alert goes out (the caller's fence). */
  async check(stats: QueueStats[], mayWrite: () => Promise<void>): Promise<string[]> {
    const { waitingSeconds, activeSeconds, cooldownSeconds } = this.limits();
    const alerted: string[] = [];
    for (const s of stats) {
      const waiting = s.oldestWaitingSeconds >= waitingSeconds;
      const active = s.oldestActiveSeconds >= activeSeconds;
      if (!waiting && !active) continue;
      await mayWrite();
      const first = await this.redis.set(`${this.prefix}:alert:queue:${s.queue}`, String(Date.now()), 'EX', Math.ceil(cooldownSeconds), 'NX');
      if (first !== 'OK') continue;
      const what = waiting
        ? `its oldest waiting job has waited ${Math.round(s.oldestWaitingSeconds)} s (limit ${waitingSeconds} s)`
        : `its oldest active job has run ${Math.round(s.oldestActiveSeconds)} s (limit ${activeSeconds} s)`;
      await this.notifications().sendToOperators('ops', {
        subject: `Queue ${s.queue} is stale`,
        text: `Queue ${s.queue}: ${what}; ${s.waiting} waiting, ${s.active} active, ${s.failed} failed. Next alert for it in ${cooldownSeconds} s at the earliest.`,
        template: 'queue_stale',
        data: { ...s },
      });
      this.metrics.alerted(s.queue);
      this.logger.warn({ queue: s.queue, oldestWaitingSeconds: s.oldestWaitingSeconds, oldestActiveSeconds: s.oldestActiveSeconds }, 'queue alert sent');
      alerted.push(s.queue);
    }
    return alerted;
  }
}
