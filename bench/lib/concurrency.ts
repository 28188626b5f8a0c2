/**
 * Runs `work(i)` for i = 0 … count-1 with at most `limit` in flight: `limit` clients, each
 * taking the next index as soon as its previous one is done (a closed-loop load generator).
 */
export async function forEachConcurrently(count: number, limit: number, work: (i: number, client: number) => Promise<void>): Promise<void> {
  let next = 0;
  const client = async (id: number) => {
    while (next < count) await work(next++, id);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, (_, id) => client(id)));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Milliseconds since `started` (a process.hrtime.bigint() reading). */
export const elapsedMs = (started: bigint): number => Number(process.hrtime.bigint() - started) / 1e6;
