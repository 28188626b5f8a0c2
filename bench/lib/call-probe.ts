import { countCalls, type CallCounts } from './call-counter';

/**
 * Loaded into a zpack child with `node --require` (never by the kernel itself): counts the SQL
 * statements and Redis commands the process sends and answers `CALLS_QUESTION` over the IPC
 * channel. The kernel runs unchanged; the counter adds a map increment per statement.
 */
export const CALLS_QUESTION = 'zpack-bench:calls?';

export interface ProbedCalls extends Omit<CallCounts, 'cpuMs'> {
  statements: Array<[string, number]>;
}

if (process.send) {
  const calls = countCalls();
  process.on('message', (message) => {
    if (message !== CALLS_QUESTION) return;
    const { sql, redis } = calls.read();
    const answer: ProbedCalls = { sql, redis, statements: [...calls.statements()] };
    process.send!(answer);
  });
  // The channel must not keep a stopped kernel alive.
  process.channel?.unref();
}
