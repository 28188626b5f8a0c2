/** Runs `work` on every item, at most `limit` at once (a bulk pass must not open a connection per item). */
export async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/**
 * A bounded share of a list per call, round robin: each call goes on where the last one stopped,
 * so a remote system with no bulk read is still asked about every item in turn.
 */
export class RoundRobin {
  private cursor = 0;

  next<T>(items: readonly T[], budget: number): T[] {
    const n = Math.min(budget, items.length);
    if (!n) return [];
    const share = Array.from({ length: n }, (_, i) => items[(this.cursor + i) % items.length]);
    this.cursor = (this.cursor + n) % items.length;
    return share;
  }
}
