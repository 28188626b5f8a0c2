import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { countCalls } from './call-counter';
import { forEachConcurrently } from './concurrency';
import { deleteRedisKeys } from './redis-keys';
import { REDIS_URL } from './zpack-process';

const RAW_QUEUE = 'raw-round-trip';
/** What KernelQueues.enqueue gives every job, so a raw job costs Redis the same. */
const JOB_OPTIONS = { attempts: 1, removeOnComplete: { age: 3600, count: 5000 }, removeOnFail: { age: 7 * 24 * 3600 } };

export interface RawRun {
  wallMs: number;
  latencyMs: number[];
  /** CPU of this process (producers, worker and events listener) and the Redis commands it sent. */
  cpuMs: number;
  redis: number;
  load1: number;
}

function redisConnection() {
  const url = new URL(REDIS_URL);
  return { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
}

/**
 * The floor any queued work has on this machine: Queue.add, a no-op Worker of the kernel's
 * concurrency, completion seen through QueueEvents, `producers` closed-loop producers.
 */
export async function rawRoundTrips(prefix: string, jobs: number, concurrency: number, producers: number): Promise<RawRun> {
  const queue = new Queue(RAW_QUEUE, { connection: redisConnection(), prefix });
  queue.setMaxListeners(producers * 2);
  const worker = new Worker(RAW_QUEUE, async () => undefined, { connection: redisConnection(), prefix, concurrency });
  const events = new QueueEvents(RAW_QUEUE, { connection: redisConnection(), prefix });
  const calls = countCalls();
  try {
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady(), events.waitUntilReady()]);
    const latencyMs: number[] = [];
    const before = calls.read();
    const started = performance.now();
    await forEachConcurrently(jobs, producers, async (i) => {
      const sent = performance.now();
      const job = await queue.add('noop', { operationId: `raw-${i}` }, { ...JOB_OPTIONS, jobId: randomUUID() });
      await job.waitUntilFinished(events, 30_000);
      latencyMs.push(performance.now() - sent);
    });
    const wallMs = performance.now() - started;
    const after = calls.read();
    return { wallMs, latencyMs, cpuMs: after.cpuMs - before.cpuMs, redis: after.redis - before.redis, load1: loadavg()[0] };
  } finally {
    calls.stop();
    await worker.close();
    await events.close();
    await queue.close();
    await deleteRedisKeys(prefix);
  }
}
