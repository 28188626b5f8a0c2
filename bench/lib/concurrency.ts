/**
 * Runs `work(i)` for i = 0 … count-1 with at most `limit` in flight: `limit` clients, each
 * taking the next index as soon as its previous one is done (a closed-loop load generator).
 * With `forMs`, no index is handed out once that much time has passed.
 */
export async function forEachConcurrently(count: number, limit: number, work: (i: number, client: number) => Promise<void>, forMs = Infinity): Promise<void> {
  let next = 0;
  const deadline = performance.now() + forMs;
  const client = async (id: number) => {
    while (next < count && performance.now() < deadline) await work(next++, id);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, (_, id) => client(id)));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Milliseconds since `started` (a process.hrtime.bigint() reading). */
export const elapsedMs = (started: bigint): number => Number(process.hrtime.bigint() - started) / 1e6;
