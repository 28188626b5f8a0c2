import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { InstanceAgent } from '../../api';
import type { ActivityLog, EnforcementState, InstanceView, JobContext, MaintenanceCalendar, PowerAction, QueueRef } from '../../api';
import { Instance, Schedule, ScheduleRun, instanceView } from '../entities';
import type { ScheduleResult, ScheduleTask } from '../entities';
import type { KernelQueues } from '../queues';
import type { BackupRotation } from '../routes/backups';
import { fromAgentError } from '../files/agent-failures';

export const SCHEDULE_JOB = 'schedule.run';
const PG_UNIQUE = '23505';

/** What a fired schedule's job carries; `tickAt` is set by "run now", a job scheduler's tick is read from its job id. */
export interface ScheduleJob {
  scheduleId: string;
  tickAt?: number;
}

export interface ScheduleRunnerDeps {
  ds: DataSource;
  queues: KernelQueues;
  queue: QueueRef;
  agent: () => InstanceAgent;
  billingState(accountId: string): Promise<EnforcementState>;
  maintenance: () => MaintenanceCalendar;
  activity: ActivityLog;
  power(instance: InstanceView, action: PowerAction): Promise<void>;
  backups: BackupRotation;
  maxTaskDelaySeconds: number;
  consoleTimeoutMs: number;
  logger: Logger;
  /** Waits between tasks (tests pass a clock of their own). */
  sleep?(ms: number): Promise<void>;
}

/** The BullMQ job scheduler of a schedule: one per schedule across the fleet, named after it. */
export const schedulerIdOf = (scheduleId: string) => `schedule-${scheduleId}`;

/**
 * Runs fired schedules. A tick is claimed by inserting its (schedule, tick) row first: however
 * many workers receive it (a redelivered stalled job, a second scheduler), one runs it. A tick that
 * must not run (suspended owner, maintenance window, server offline) is still claimed, with the reason.
 */
export class ScheduleRunner {
  constructor(private readonly deps: ScheduleRunnerDeps) {}

  /** Creates, changes or removes the schedule's job scheduler to match its row. */
  async sync(schedule: Schedule): Promise<void> {
    const queue = this.deps.queues.queue(this.deps.queue);
    if (!schedule.enabled) {
      await queue.removeJobScheduler(schedulerIdOf(schedule.id));
      return;
    }
    await queue.upsertJobScheduler(schedulerIdOf(schedule.id), { pattern: schedule.cron, tz: schedule.timezone }, {
      name: SCHEDULE_JOB, data: { scheduleId: schedule.id } satisfies ScheduleJob,
      opts: { removeOnComplete: { age: 3600, count: 10_000 }, removeOnFail: { age: 7 * 24 * 3600 } },
    });
  }

  async remove(scheduleId: string): Promise<void> {
    await this.deps.queues.queue(this.deps.queue).removeJobScheduler(schedulerIdOf(scheduleId));
  }

  /** "Run now": a tick at this instant, through the same queue and the same once-only claim. */
  async runNow(scheduleId: string, at = new Date()): Promise<void> {
    await this.deps.queues.enqueue(this.deps.queue, SCHEDULE_JOB, { scheduleId, tickAt: at.getTime() } satisfies ScheduleJob, { jobId: `schedule-now-${scheduleId}-${at.getTime()}` });
  }

  /** The job handler; a job scheduler's job is named `repeat:<scheduler>:<tick millis>`. */
  async handle(data: ScheduleJob, job: JobContext): Promise<ScheduleResult | null> {
    const tickAt = new Date(data.tickAt ?? Number(job.id.split(':').pop()));
    if (Number.isNaN(tickAt.getTime())) throw new Error(`schedule job ${job.id} names no tick`);
    return this.fire(data.scheduleId, tickAt);
  }

  /** Runs one tick of a schedule, once; null when another worker already has it. */
  async fire(scheduleId: string, tickAt: Date): Promise<ScheduleResult | null> {
    const { ds } = this.deps;
    try {
      await ds.getRepository(ScheduleRun).insert({ scheduleId, tickAt, outcome: 'running', result: null });
    } catch (err: any) {
      if (err?.driverError?.code === PG_UNIQUE) return null;
      // The schedule was deleted since its tick was queued (the foreign key refuses the claim).
      if (err?.driverError?.code === '23503') return null;
      throw err;
    }
    const schedule = await ds.getRepository(Schedule).findOneBy({ id: scheduleId });
    const row = schedule && await ds.getRepository(Instance).findOneBy({ id: schedule.instanceId });
    let result: ScheduleResult;
    if (!schedule || !row || row.deletedAt) result = skipped(tickAt, 'server_deleted');
    else result = await this.decide(schedule, instanceView(row), tickAt);
    await ds.getRepository(ScheduleRun).update({ scheduleId, tickAt }, { outcome: result.outcome, result: result as never });
    if (schedule) {
      await ds.getRepository(Schedule).update(schedule.id, { lastResult: result as never });
      await this.deps.activity.record({
        instanceId: schedule.instanceId, event: result.outcome === 'skipped' ? 'schedule.skip' : 'schedule.run', actor: { type: 'schedule', id: schedule.id },
        accountId: null, properties: { name: schedule.name, tickAt: tickAt.toISOString(), outcome: result.outcome, reason: result.reason ?? null },
      });
    }
    return result;
  }

  private async decide(schedule: Schedule, instance: InstanceView, tickAt: Date): Promise<ScheduleResult> {
    if (!schedule.enabled) return skipped(tickAt, 'disabled');
    if ((await this.deps.billingState(instance.ownerId)) === 'suspended') return skipped(tickAt, 'account_suspended');
    const window = await this.deps.maintenance().activeFor(instance.node, tickAt);
    if (window) return skipped(tickAt, `maintenance: ${window.message}`);
    if (schedule.onlyWhenOnline && instance.state !== 'running') return skipped(tickAt, 'server_offline');
    const tasks: NonNullable<ScheduleResult['tasks']> = [];
    for (const task of schedule.tasks) {
      const delay = Math.min(task.delaySeconds, this.deps.maxTaskDelaySeconds) * 1000;
      if (delay > 0) await (this.deps.sleep ?? sleep)(delay);
      try {
        await this.runTask(instance, task);
        tasks.push({ action: task.action, ok: true });
      } catch (err) {
        const failure = fromAgentError(err) as Error;
        tasks.push({ action: task.action, ok: false, error: failure.message });
        if (!task.continueOnFailure) return { at: tickAt.toISOString(), outcome: 'failed', tasks };
      }
    }
    return { at: tickAt.toISOString(), outcome: tasks.every((t) => t.ok) ? 'succeeded' : 'failed', tasks };
  }

  private async runTask(instance: InstanceView, task: ScheduleTask): Promise<void> {
    if (task.action === 'power') return this.deps.power(instance, task.payload.action as PowerAction);
    if (task.action === 'backup') {
      await this.deps.backups.create(instance, String(task.payload.name ?? `scheduled-${new Date().toISOString().replace(/[:.]/g, '-')}`));
      return;
    }
    await this.command(instance, String(task.payload.command));
  }

  /** Types one line into the server's console (as a person would), then leaves. */
  private async command(instance: InstanceView, command: string): Promise<void> {
    const ws = await this.deps.agent().openConsole(instance, this.deps.consoleTimeoutMs);
    try {
      await new Promise<void>((resolve, reject) => ws.send(JSON.stringify({ type: 'input', data: `${command}\r` }), (err) => (err ? reject(err) : resolve())));
    } finally {
      ws.close(1000, 'schedule task done');
    }
  }
}

const skipped = (tickAt: Date, reason: string): ScheduleResult => ({ at: tickAt.toISOString(), outcome: 'skipped', reason });
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
