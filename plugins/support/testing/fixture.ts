import type { TestKernel } from '../../../kernel/testing';

/** A server row of `ownerId` on `node`, as provisioning leaves it (no fleet needed to open tickets about it). */
export async function insertServer(tk: TestKernel, ownerId: string, options: { name?: string; node?: string; state?: string; crashed?: boolean } = {}): Promise<string> {
  const lastCrash = options.crashed
    ? { id: '00000000-0000-4000-8000-000000000001', crashedAt: '2026-11-27T10:00:00.000Z', exitCode: 137, signal: 'SIGKILL', uptimeSeconds: 12, classification: 'oom', logTail: ['java.lang.OutOfMemoryError'] }
    : null;
  const [row] = await tk.kernel.ds.query(
    `INSERT INTO instance (owner_id, kind, type, name, state, vmid, node, last_crash) VALUES ($1, 'game', 'minecraft', $2, $3, NULL, $4, $5) RETURNING id`,
    [ownerId, options.name ?? 'Survival', options.state ?? 'running', options.node ?? 'pve1', lastCrash && JSON.stringify(lastCrash)]);
  return row.id;
}
