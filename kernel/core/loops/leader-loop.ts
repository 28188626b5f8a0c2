import type { DataSource } from 'typeorm';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { LoopFn } from '../../api';
import { LeaseFence, recordFence, recordedFence } from './fence';

/** Takes the lease when free and draws the next token, in one step. */
const CAMPAIGN = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local token = redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'XX', 'PX', ARGV[2])
  return token
end
return 0`;
/** Extends or drops the lease only while it still names this holder. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
/** After Redis lost its data the counter restarts: lift it above what Postgres has recorded. */
const LIFT = `if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end return 1`;

export interface LeaderLoopSpec {
  /** `<plugin>.<name>`. */
  name: string;
  intervalMs: number;
  leaseMs: number;
  fn: LoopFn;
}

interface Term {
  fence: LeaseFence;
  holder: string;
  validUntil: number;
  abort: AbortController;
  renewer: NodeJS.Timeout;
}

/**
 * One loop in one process: campaigns for the lease every third of it, and while elected ticks
 * every `intervalMs` (ticks never overlap) and renews the lease every third of it. A lost renewal,
 * or a lease that ran out unrenewed, ends the term: the tick's signal is aborted.
 */
export class LeaderLoop {
  private term?: Term;
  private timer?: NodeJS.Timeout;
  private ticking: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly spec: LeaderLoopSpec,
    private readonly redis: Redis,
    private readonly ds: DataSource,
    private readonly keys: { lease: string; counter: string },
    private readonly owner: string,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.schedule(0);
  }

  get name(): string {
    return this.spec.name;
  }

  get leading(): boolean {
    return !!this.term;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.step(), ms);
  }

  private async step(): Promise<void> {
    try {
      if (!this.term) await this.campaign();
      if (this.term && Date.now() < this.term.validUntil) {
        this.ticking = this.tick(this.term);
        await this.ticking;
      }
    } catch (err) {
      this.logger.warn({ err, loop: this.spec.name }, 'leader loop step failed');
    }
    this.schedule(this.term ? this.spec.intervalMs : this.spec.leaseMs / 3);
  }

  private async campaign(): Promise<void> {
    const { leaseMs, name } = this.spec;
    const since = Date.now();
    const token = Number(await this.redis.eval(CAMPAIGN, 2, this.keys.lease, this.keys.counter, this.owner, leaseMs));
    if (!token) return;
    const holder = `${this.owner}:${token}`;
    // Recorded before the first tick, so a deposed leader's late writes are refused from now on.
    const recorded = await recordFence(this.ds, name, token).catch((err) => {
      this.logger.warn({ err, loop: name }, 'could not record the fencing token; giving the lease up');
      return false;
    });
    if (!recorded || this.stopped) {
      if (!recorded) await this.liftCounter();
      await this.redis.eval(RELEASE, 1, this.keys.lease, holder);
      return;
    }
    const fence = new LeaseFence(name, token, { key: this.keys.lease, holder }, this.redis, this.ds);
    const renewer = setInterval(() => void this.renew(), leaseMs / 3);
    this.term = { fence, holder, validUntil: since + leaseMs, abort: new AbortController(), renewer };
    this.logger.info({ loop: name, token }, 'elected leader of loop');
  }

  private async liftCounter(): Promise<void> {
    const highest = await recordedFence(this.ds, this.spec.name).catch(() => 0);
    if (highest) await this.redis.eval(LIFT, 1, this.keys.counter, highest);
  }

  private async renew(): Promise<void> {
    const term = this.term;
    if (!term) return;
    const since = Date.now();
    try {
      const kept = Number(await this.redis.eval(RENEW, 1, this.keys.lease, term.holder, this.spec.leaseMs));
      if (kept) term.validUntil = since + this.spec.leaseMs;
      else this.depose(term, 'the lease was taken over');
    } catch (err) {
      if (Date.now() >= term.validUntil) this.depose(term, 'the lease ran out unrenewed');
      else this.logger.warn({ err, loop: this.spec.name }, 'lease renewal failed; retrying');
    }
  }

  private depose(term: Term, reason: string): void {
    if (this.term !== term) return;
    this.term = undefined;
    clearInterval(term.renewer);
    term.abort.abort(new Error(reason));
    this.logger.warn({ loop: this.spec.name, token: term.fence.value, reason }, 'no longer leader of loop');
  }

  private async tick(term: Term): Promise<void> {
    try {
      await this.spec.fn({ fence: term.fence, signal: term.abort.signal });
    } catch (err) {
      this.logger.warn({ err, loop: this.spec.name, token: term.fence.value }, 'loop tick failed');
    }
  }

  /** Ends the term: the current tick is told to stop and awaited (bounded), then the lease is freed for the next leader. */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const term = this.term;
    if (!term) return;
    this.term = undefined;
    clearInterval(term.renewer);
    term.abort.abort(new Error('the process is stopping'));
    await Promise.race([this.ticking, new Promise((r) => setTimeout(r, graceMs).unref())]);
    await this.redis.eval(RELEASE, 1, this.keys.lease, term.holder).catch(() => undefined);
  }
}
