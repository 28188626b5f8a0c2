import { DelayedError, Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { BootError, KernelQueue, UnavailableError } from '../api';
import type { EnqueueOptions, JobHandler, JobQueues, QueueOptions, QueueRef } from '../api';
import { isDatabaseUnavailable } from './database';
import type { KernelMetrics } from './metrics';

/** How long a job that found Postgres unreachable waits before it runs again. */
const DATABASE_RETRY_MS = 2000;

export interface WorkerSettings {
  lockDurationMs: number;
  stalledIntervalMs: number;
}

export interface QueueStats {
  queue: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  /** Age of the oldest job still waiting; 0 when none waits. Exported as a metric to alert on. */
  oldestWaitingSeconds: number;
  /** How long the longest-running active job has run; 0 when none runs. */
  oldestActiveSeconds: number;
}

/**
 * BullMQ behind the JobQueues port. Jobs are dispatched by name to the handler a plugin (or
 * the kernel) defined; delivery is at-least-once, so handlers must be idempotent.
 */
export class KernelQueues implements JobQueues {
  private readonly handlers = new Map<string, { queue: string; handler: JobHandler }>();
  /** Every queue the kernel and the plugins declared, by real name. */
  private readonly declared = new Map<string, { ref: QueueRef; options: QueueOptions }>();
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];

  constructor(
    /** The command connection, opened at boot (declaring and defining need none). */
    private readonly connect: () => Redis | undefined,
    private readonly workerConnection: () => Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly metrics: KernelMetrics,
  ) {
    for (const ref of Object.values(KernelQueue)) this.declared.set(ref.name, { ref, options: {} });
  }

  private get connection(): Redis {
    const connection = this.connect();
    if (!connection) throw new Error('the kernel has not booted: no Redis connection yet');
    return connection;
  }

  /** A plugin's own queue, `<owner>.<name>`. */
  declare(owner: string, name: string, options: QueueOptions = {}): QueueRef {
    if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new BootError(`plugin "${owner}": queue name "${name}" must be lower-case letters, digits and dashes`, 'invalid_queue');
    const ref: QueueRef = Object.freeze({ name: `${owner}.${name}`, owner });
    if (this.declared.has(ref.name)) throw new BootError(`queue ${ref.name} is declared twice`, 'queue_declared_twice');
    this.declared.set(ref.name, { ref, options });
    return ref;
  }

  /** Sets how many jobs of a queue one process runs at once (the kernel's from config). */
  setConcurrency(ref: QueueRef, concurrency: number): void {
    this.declaration(ref).options.concurrency = concurrency;
  }

  declaredQueues(): QueueRef[] {
    return [...this.declared.values()].map((d) => d.ref);
  }

  /** The plugins' queues that name `role` in their `workedBy`. */
  workedBy(role: string): QueueRef[] {
    return [...this.declared.values()].filter((d) => d.options.workedBy?.includes(role)).map((d) => d.ref);
  }

  define<D>(name: string, queue: QueueRef, handler: JobHandler<D>): void {
    if (this.handlers.has(name)) throw new BootError(`job "${name}" is defined twice`, 'job_defined_twice');
    this.declaration(queue);
    this.handlers.set(name, { queue: queue.name, handler: handler as JobHandler });
  }

  definedJobs(): string[] {
    return [...this.handlers.keys()];
  }

  /** Whether any job is defined on the queue (a worker on an empty queue runs nothing). */
  hasJobs(queue: QueueRef): boolean {
    return [...this.handlers.values()].some((h) => h.queue === queue.name);
  }

  private declaration(ref: QueueRef): { ref: QueueRef; options: QueueOptions } {
    const found = this.declared.get(ref.name);
    if (!found) throw new BootError(`queue ${ref.name} was never declared (declare it with ctx.queues.declare)`, 'queue_undeclared');
    return found;
  }

  queue(ref: QueueRef): Queue {
    const name = this.declaration(ref).ref.name;
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
  async enqueue<D>(queue: QueueRef, name: string, data: D, options: EnqueueOptions = {}): Promise<string> {
    const def = this.handlers.get(name);
    if (!def) throw new Error(`job "${name}" is not defined`);
    if (def.queue !== queue.name) throw new Error(`job "${name}" belongs to queue ${def.queue}, not ${queue.name}`);
    if (this.connection.status !== 'ready') throw new UnavailableError('The job queue is unreachable', { queue: queue.name });
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
      timer = setTimeout(() => reject(new UnavailableError('The job queue did not answer in time', { queue: queue.name })), 5000);
    });
    try {
      return (await Promise.race([adding, deadline])).id!;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs the job `name` every `everyMs`, once across the fleet; upserting again changes nothing but the period. */
  async repeat(queue: QueueRef, name: string, everyMs: number): Promise<void> {
    if (!this.handlers.has(name)) throw new Error(`job "${name}" is not defined`);
    await this.queue(queue).upsertJobScheduler(name, { every: everyMs }, {
      name, data: {}, opts: { removeOnComplete: { age: 24 * 3600, count: 100 }, removeOnFail: { age: 7 * 24 * 3600 } },
    });
  }

  /** Runs a delayed job now; nothing when it is gone or no longer delayed (it ran, or is running). */
  async promote(queue: QueueRef, jobId: string): Promise<void> {
    const job = await Job.fromId(this.queue(queue), jobId);
    if (!job || !(await job.isDelayed())) return;
    await job.promote().catch(async (err) => {
      if (await job.isDelayed()) throw err;
    });
  }

  startWorkers(refs: QueueRef[], settings: WorkerSettings): void {
    for (const ref of refs) {
      const { name } = ref;
      const concurrency = this.declaration(ref).options.concurrency ?? 4;
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
          connection: this.workerConnection(), prefix: this.prefix, concurrency,
          lockDuration: settings.lockDurationMs, stalledInterval: settings.stalledIntervalMs, maxStalledCount: 5,
        },
      );
      worker.on('error', (err) => this.logger.warn({ err, queue: name }, 'worker error'));
      this.workers.push(worker);
    }
  }

  async stats(): Promise<QueueStats[]> {
    return Promise.all(
      this.declaredQueues().map(async (ref) => {
        const q = this.queue(ref);
        const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed');
        const [oldest] = await q.getJobs(['waiting'], 0, 0, true);
        const waitingSince = oldest ? oldest.timestamp + (oldest.opts.delay ?? 0) : 0;
        // Active jobs are few (bounded by the workers' concurrency): their start times are read whole.
        const running = counts.active ? await q.getJobs(['active'], 0, 199) : [];
        const activeSince = Math.min(...running.map((j) => j.processedOn ?? Date.now()), Date.now());
        return {
          queue: ref.name,
          waiting: counts.waiting ?? 0,
          active: counts.active ?? 0,
          delayed: counts.delayed ?? 0,
          failed: counts.failed ?? 0,
          oldestWaitingSeconds: oldest ? Math.max(0, (Date.now() - waitingSince) / 1000) : 0,
          oldestActiveSeconds: Math.max(0, (Date.now() - activeSince) / 1000),
        };
      }),
    );
  }

  /**
   * Workers first: each finishes its current job within the grace period, else it is closed
   * forcibly (its job stalls and is handed out again: handlers are idempotent).
   */
  async closeWorkers(graceMs = 10_000): Promise<void> {
    if (this.connect()?.status !== 'ready') graceMs = 0;
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
