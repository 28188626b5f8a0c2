import type { EntityManager } from 'typeorm';

export interface LoopOptions {
  /** Pause between the end of one tick and the start of the next. */
  intervalMs: number;
  /** One process of the fleet ticks the loop at a time, elected through a Redis lease. */
  leader: true;
  /** How long the lease lasts unrenewed (default `loops.leaseMs` from config); a dead leader is replaced within it. */
  leaseMs?: number;
}

/**
 * The fencing token of one leadership term: a number drawn by INCR when the lease was won, so a
 * later leader always holds a larger one. A leader that was paused past its lease (GC, SIGSTOP,
 * a slow remote call) still believes it leads; the token is how its late writes are refused.
 */
export interface FencingToken {
  readonly loop: string;
  readonly value: number;
  /** Throws FencedError once a newer leader has been elected (or this lease was lost). */
  assertCurrent(): Promise<void>;
  /**
   * Runs `write` in a Postgres transaction that first records this token as the highest seen for
   * the loop and holds that row locked to the commit; throws FencedError, writing nothing, when a
   * newer token was recorded. Every new leader records its token on election, so once it is
   * elected no write of an older term commits.
   */
  transaction<T>(write: (manager: EntityManager) => Promise<T>): Promise<T>;
}

export interface LoopTick {
  fence: FencingToken;
  /** Aborted when the lease is lost or the process stops: stop work and return. */
  signal: AbortSignal;
}

export type LoopFn = (tick: LoopTick) => Promise<void>;
