import { DelayedError, Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { UnavailableError } from '../api';
import type { EnqueueOptions, JobHandler, JobQueues, QueueName } from '../api';
import { isDatabaseUnavailable } from './database';
import type { KernelMetrics } from './metrics';

export const ALL_QUEUES: QueueName[] = ['provisioning', 'repair', 'billing', 'notifications'];
/** How long a job that found Postgres unreachable waits before it runs again. */
const DATABASE_RETRY_MS = 2000;

export interface WorkerSettings {
  concurrency: Partial<Record<QueueName, number>>;
  lockDurationMs: number;
  stalledIntervalMs: number;
}

export interface QueueStats {
  queue: QueueName;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  /** Age of the oldest job still waiting; 0 when none waits. Exported as a metric to alert on. */
  oldestWaitingSeconds: number;
}

/**
 * BullMQ behind the JobQueues port. Jobs are dispatched by name to the handler a plugin (or
 * the kernel) defined; delivery is at-least-once, so handlers must be idempotent.
 */
export class KernelQueues implements JobQueues {
  private readonly handlers = new Map<string, { queue: QueueName; handler: JobHandler }>();
  private readonly queues = new Map<QueueName, Queue>();
  private readonly workers: Worker[] = [];

  constructor(
    private readonly connection: Redis,
    private readonly workerConnection: () => Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly metrics: KernelMetrics,
  ) {}

  define<D>(name: string, queue: QueueName, handler: JobHandler<D>): void {
    if (this.handlers.has(name)) throw new Error(`job "${name}" is defined twice`);
    this.handlers.set(name, { queue, handler: handler as JobHandler });
  }

  definedJobs(): string[] {
    return [...this.handlers.keys()];
  }

  queue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection, prefix: this.prefix });
      q.on('error', (err) => this.logger.warn({ err, queue: name }, 'queue error'));
      this.queues.set(name, q);
    }
    return q;
  }

  /**
   * Adds a job, or fails at once while Redis is unreachable (BullMQ would wait for the connection
   * forever). Callers keep the durable record (the operation row) and retry.
   */
  async enqueue<D>(queue: QueueName, name: string, data: D, options: EnqueueOptions = {}): Promise<string> {
    const def = this.handlers.get(name);
    if (!def) throw new Error(`job "${name}" is not defined`);
    if (def.queue !== queue) throw new Error(`job "${name}" belongs to queue ${def.queue}, not ${queue}`);
    if (this.connection.status !== 'ready') throw new UnavailableError('The job queue is unreachable', { queue });
    const adding = this.queue(queue).add(name, data, {
      jobId: options.jobId,
      delay: options.delayMs,
      attempts: options.attempts ?? 1,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: 3600, count: 5000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    });
    // Redis may drop between the check and the add; a late add is harmless (the job id dedupes).
    adding.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new UnavailableError('The job queue did not answer in time', { queue })), 5000);
    });
    try {
      return (await Promise.race([adding, deadline])).id!;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs the job `name` every `everyMs`, once across the fleet; upserting again changes nothing but the period. */
  async repeat(queue: QueueName, name: string, everyMs: number): Promise<void> {
    if (!this.handlers.has(name)) throw new Error(`job "${name}" is not defined`);
    await this.queue(queue).upsertJobScheduler(name, { every: everyMs }, {
      name, data: {}, opts: { removeOnComplete: { age: 24 * 3600, count: 100 }, removeOnFail: { age: 7 * 24 * 3600 } },
    });
  }

  /** Runs a delayed job now; nothing when it is gone or no longer delayed (it ran, or is running). */
  async promote(queue: QueueName, jobId: string): Promise<void> {
    const job = await Job.fromId(this.queue(queue), jobId);
    if (!job || !(await job.isDelayed())) return;
    await job.promote().catch(async (err) => {
      if (await job.isDelayed()) throw err;
    });
  }

  startWorkers(names: QueueName[], settings: WorkerSettings): void {
    for (const name of names) {
      const worker = new Worker(
        name,
        async (job, token) => {
          const def = this.handlers.get(job.name);
          if (!def) throw new UnrecoverableError(`no handler for job "${job.name}" (is its plugin enabled?)`);
          try {
            const out = await def.handler(job.data, { id: job.id!, name: job.name, attempt: job.attemptsMade + 1 });
            this.metrics.jobsProcessed.inc({ queue: name, name: job.name, outcome: 'ok' });
            return out;
          } catch (err) {
            if (isDatabaseUnavailable(err)) {
              // Postgres is briefly away: the job runs again later (handlers are idempotent) instead of failing for good.
              this.metrics.jobsProcessed.inc({ queue: name, name: job.name, outcome: 'deferred' });
              this.logger.warn({ err, queue: name, job: job.name, jobId: job.id }, 'database unreachable; job deferred');
              await job.moveToDelayed(Date.now() + DATABASE_RETRY_MS, token);
              throw new DelayedError();
            }
            this.metrics.jobsProcessed.inc({ queue: name, name: job.name, outcome: 'error' });
            this.logger.warn({ err, queue: name, job: job.name, jobId: job.id }, 'job failed');
            throw err;
          }
        },
        {
          connection: this.workerConnection(), prefix: this.prefix, concurrency: settings.concurrency[name] ?? 4,
          lockDuration: settings.lockDurationMs, stalledInterval: settings.stalledIntervalMs, maxStalledCount: 5,
        },
      );
      worker.on('error', (err) => this.logger.warn({ err, queue: name }, 'worker error'));
      this.workers.push(worker);
    }
  }

  async stats(): Promise<QueueStats[]> {
    return Promise.all(
      ALL_QUEUES.map(async (name) => {
        const q = this.queue(name);
        const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed');
        const [oldest] = await q.getJobs(['waiting'], 0, 0, true);
        const waitingSince = oldest ? oldest.timestamp + (oldest.opts.delay ?? 0) : 0;
        return {
          queue: name,
          waiting: counts.waiting ?? 0,
          active: counts.active ?? 0,
          delayed: counts.delayed ?? 0,
          failed: counts.failed ?? 0,
          oldestWaitingSeconds: oldest ? Math.max(0, (Date.now() - waitingSince) / 1000) : 0,
        };
      }),
    );
  }

  /**
   * Workers first: each finishes its current job within the grace period, else it is closed
   * forcibly (its job stalls and is handed out again: handlers are idempotent).
   */
  async closeWorkers(graceMs = 10_000): Promise<void> {
    if (this.connection.status !== 'ready') graceMs = 0;
    await Promise.all(this.workers.splice(0).map((w) => bounded(w.close(), graceMs, () => w.close(true))));
  }

  async close(graceMs = 10_000): Promise<void> {
    await this.closeWorkers(graceMs);
    await Promise.all([...this.queues.values()].map((q) => bounded(q.close(), 2000, () => q.disconnect())));
    this.queues.clear();
  }
}

/** Waits for `p` at most `ms`, then runs `fallback` (a dead Redis must not hang shutdown). */
async function bounded(p: Promise<unknown>, ms: number, fallback: () => Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), ms); });
  const outcome = await Promise.race([p.then(() => 'done' as const, () => 'done' as const), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') await Promise.race([fallback().catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
}
