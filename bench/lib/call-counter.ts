import { Redis } from 'ioredis';
import { Client } from 'pg';
import { ownCpuMs } from './cpu-usage';

export interface CallCounts {
  /** Statements sent by any pg Client of this process (TypeORM's included). */
  sql: number;
  /** Commands sent by any ioredis connection of this process (BullMQ's included; a pipeline counts each command). */
  redis: number;
  /** CPU time (user + system) of this process, ms. */
  cpuMs: number;
}

/**
 * Counts SQL statements and Redis commands this process sends, by wrapping the two client
 * methods every connection goes through. Bench-only instrumentation: a counter increment per
 * call, to say how many round trips an in-process operation costs. `stop()` restores the methods.
 */
export function countCalls(): { read(): CallCounts; statements(): Map<string, number>; stop(): void } {
  const counts = { sql: 0, redis: 0 };
  const statements = new Map<string, number>();
  const query = Client.prototype.query;
  const sendCommand = Redis.prototype.sendCommand;
  (Client.prototype as any).query = function (this: Client, ...args: unknown[]) {
    counts.sql++;
    // Keyed by the raw text: the counter must cost the measured process next to nothing.
    const text = rawText(args[0]);
    statements.set(text, (statements.get(text) ?? 0) + 1);
    return (query as any).apply(this, args);
  };
  (Redis.prototype as any).sendCommand = function (this: Redis, ...args: unknown[]) {
    counts.redis++;
    return (sendCommand as any).apply(this, args);
  };
  const cpuAtStart = ownCpuMs();
  return {
    read: () => ({ ...counts, cpuMs: ownCpuMs() - cpuAtStart }),
    /** Statements so far by their opening words (schema names removed), for "which queries" questions. */
    statements: () => {
      const byKind = new Map<string, number>();
      for (const [text, n] of statements) byKind.set(statementOf(text), (byKind.get(statementOf(text)) ?? 0) + n);
      return byKind;
    },
    stop() {
      Client.prototype.query = query;
      Redis.prototype.sendCommand = sendCommand;
    },
  };
}

const rawText = (query: unknown): string => (typeof query === 'string' ? query : (query as { text?: string })?.text ?? '(prepared)');

function statementOf(text: string): string {
  return text.replace(/"[a-z_][a-z0-9_]*"\./g, '').replace(/"/g, '').replace(/\s+/g, ' ').trim().slice(0, 72);
}

/** Per-key differences `after - before` of two statements() readings, largest first. */
export function statementsBetween(before: Map<string, number>, after: Map<string, number>): Array<[string, number]> {
  return [...after].map(([k, n]): [string, number] => [k, n - (before.get(k) ?? 0)]).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
}

/** `after - before`, field by field. */
export const callsBetween = (before: CallCounts, after: CallCounts): CallCounts => ({
  sql: after.sql - before.sql, redis: after.redis - before.redis, cpuMs: after.cpuMs - before.cpuMs,
});
