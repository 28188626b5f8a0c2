import type { DataSource, EntityManager } from 'typeorm';
import type { Redis } from 'ioredis';
import { FencedError } from '../../api';
import type { FencingToken } from '../../api';

/**
 * Records `token` as the highest seen for the loop, unless a higher one already is; the row stays
 * locked until the surrounding transaction ends, so no newer term records itself in between.
 * Answers false (nothing written) when a newer term was recorded.
 */
export async function recordFence(q: DataSource | EntityManager, loop: string, token: number): Promise<boolean> {
  const rows: unknown[] = await q.query(
    `INSERT INTO loop_fence (loop, token) VALUES ($1, $2)
     ON CONFLICT (loop) DO UPDATE SET token = EXCLUDED.token, updated_at = now() WHERE loop_fence.token <= EXCLUDED.token
     RETURNING token`, [loop, token]);
  return rows.length > 0;
}

/** The highest token recorded for a loop (0 when none). */
export async function recordedFence(ds: DataSource, loop: string): Promise<number> {
  const [row] = await ds.query(`SELECT token FROM loop_fence WHERE loop = $1`, [loop]);
  return row ? Number(row.token) : 0;
}

/** One leadership term's token: checked against the lease in Redis and the record in Postgres. */
export class LeaseFence implements FencingToken {
  constructor(
    readonly loop: string,
    readonly value: number,
    private readonly lease: { key: string; holder: string },
    private readonly redis: Redis,
    private readonly ds: DataSource,
  ) {}

  async assertCurrent(): Promise<void> {
    if ((await this.redis.get(this.lease.key)) !== this.lease.holder) throw new FencedError(this.loop, this.value);
  }

  async transaction<T>(write: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.ds.transaction(async (manager) => {
      if (!(await recordFence(manager, this.loop, this.value))) throw new FencedError(this.loop, this.value);
      return write(manager);
    });
  }
}
