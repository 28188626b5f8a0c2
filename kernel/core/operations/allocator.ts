import type { DataSource, EntityManager } from 'typeorm';
import { hotQuery } from '../database';
import { ConflictError } from '../../api';
import type { PortBinding } from '../../api';

interface Range {
  min: number;
  max: number;
}

type Granted = { vmid: number; ports: PortBinding[] };
type Needs = Array<{ name: string; protocol: 'tcp' | 'udp' }>;

/** zpack_allocate (migration 1700000830000): the advisory lock, the re-run's holdings and the grants, in one call. */
const ALLOCATE_SQL = `SELECT zpack_allocate($1, $2, $3, $4, $5, $6::text[]) AS granted`;

/**
 * VMIDs and ports come from configured ranges in Postgres, never from /cluster/nextid. A
 * transaction-scoped advisory lock serialises allocators; primary keys make a double grant
 * impossible even without it. A re-run for the same instance gets what it already holds.
 */
export async function allocate(m: EntityManager, instanceId: string, vmids: Range, ports: Range, needs: Needs): Promise<Granted> {
  return granted(await m.query(ALLOCATE_SQL, allocateValues(instanceId, vmids, ports, needs)).catch(rangeExhausted(vmids, ports)), needs);
}

/** The same as one statement of its own (its own transaction), prepared: the create path's allocation. */
export async function allocateNow(ds: DataSource, instanceId: string, vmids: Range, ports: Range, needs: Needs): Promise<Granted> {
  return granted(await hotQuery<GrantedRow>(ds, 'zpack_allocate', ALLOCATE_SQL, allocateValues(instanceId, vmids, ports, needs)).catch(rangeExhausted(vmids, ports)), needs);
}

const allocateValues = (instanceId: string, vmids: Range, ports: Range, needs: Needs) =>
  [instanceId, vmids.min, vmids.max, ports.min, ports.max, needs.map((n) => n.name)];

type GrantedRow = { granted: { vmid: number; ports: Array<{ name: string; port: number }> } };

function granted(rows: GrantedRow[], needs: Needs): Granted {
  const { vmid, ports } = rows[0].granted;
  return { vmid, ports: needs.map((need, i) => ({ name: need.name, port: ports[i].port, protocol: need.protocol })) };
}

/** The function's ZP001/ZP002 (no free VMID / port) as the ConflictError a caller answers with. */
function rangeExhausted(vmids: Range, ports: Range): (err: unknown) => never {
  return (err) => {
    const code = ((err as { driverError?: { code?: string } }).driverError ?? (err as { code?: string }))?.code;
    if (code === 'ZP001') throw new ConflictError('No free VMID in the configured range', { range: vmids });
    if (code === 'ZP002') throw new ConflictError('No free port in the configured range', { range: ports });
    throw err;
  };
}

/** A VMID found taken on the hosting side by something not ours: keep it out of future grants. */
export async function markVmidForeign(m: EntityManager, vmid: number): Promise<void> {
  await m.query(`UPDATE vmid_allocation SET instance_id = NULL, reason = 'foreign' WHERE vmid = $1`, [vmid]);
}

/** VMIDs the hosting side lists that no grant of ours holds, within the range: kept out of future grants. Returns how many. */
export async function reserveForeignVmids(m: EntityManager, listed: readonly number[], range: Range): Promise<number> {
  const rows = await m.query(
    `INSERT INTO vmid_allocation (vmid, instance_id, reason)
       SELECT v, NULL, 'foreign' FROM unnest($1::int[]) v WHERE v BETWEEN $2 AND $3
     ON CONFLICT (vmid) DO NOTHING RETURNING vmid`, [listed, range.min, range.max]) as unknown[];
  return rows.length;
}

export async function release(m: EntityManager, instanceId: string): Promise<void> {
  await m.query(`DELETE FROM port_allocation WHERE instance_id = $1`, [instanceId]);
  await m.query(`DELETE FROM vmid_allocation WHERE instance_id = $1`, [instanceId]);
}
