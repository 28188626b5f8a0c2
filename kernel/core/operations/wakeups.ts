import type { Redis } from 'ioredis';
import { KernelQueue } from '../../api';
import type { KernelQueues } from '../queues';
import type { OperationWakeups } from './phases';

/** The job that runs readiness check `n` of a parked create; one per check, so a new one is never deduped away. */
export const readinessWakeId = (operationId: string, n: number) => `${operationId}-ready-${n}`;

/**
 * Delayed jobs that run a parked create's next readiness check. The agent's ready event may
 * come while a check runs, before the next one is scheduled: it leaves a mark, and the parking
 * worker reads the mark after scheduling, so one of the two always brings the check forward.
 */
export class ReadinessWakeups implements OperationWakeups {
  constructor(
    private readonly queues: KernelQueues,
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly job: string,
    /** How long a mark is worth keeping: one readiness window. */
    private readonly markSeconds: number,
  ) {}

  async schedule(operationId: string, check: number, delayMs: number): Promise<void> {
    const jobId = readinessWakeId(operationId, check);
    await this.queues.enqueue(KernelQueue.provisioning, this.job, { operationId, resumed: true }, { jobId, delayMs });
    if (await this.redis.getdel(this.mark(operationId))) await this.queues.promote(KernelQueue.provisioning, jobId);
  }

  async wake(operationId: string, check: number): Promise<void> {
    await this.redis.set(this.mark(operationId), '1', 'EX', Math.ceil(this.markSeconds));
    await this.queues.promote(KernelQueue.provisioning, readinessWakeId(operationId, check));
  }

  private mark(operationId: string): string {
    return `${this.prefix}:ready-wake:${operationId}`;
  }
}
