import type { EntityManager } from 'typeorm';
import { ConflictError } from '../../api';
import type { PortBinding } from '../../api';

interface Range {
  min: number;
  max: number;
}

/**
 * VMIDs and ports come from configured ranges in Postgres, never from /cluster/nextid. A
 * transaction-scoped advisory lock serialises allocators; primary keys make a double grant
 * impossible even without it.
 */
export async function allocate(
  m: EntityManager, instanceId: string, vmids: Range, ports: Range, needs: Array<{ name: string; protocol: 'tcp' | 'udp' }>,
): Promise<{ vmid: number; ports: PortBinding[] }> {
  await m.query(`SELECT pg_advisory_xact_lock(hashtext('zpack.allocation'))`);
  const held: Array<{ vmid: number }> = await m.query(`SELECT vmid FROM vmid_allocation WHERE instance_id = $1`, [instanceId]);
  let vmid = held[0]?.vmid;
  if (vmid === undefined) {
    vmid = await lowestFree(m, 'vmid_allocation', 'vmid', vmids);
    await m.query(`INSERT INTO vmid_allocation (vmid, instance_id) VALUES ($1, $2)`, [vmid, instanceId]);
  }
  const have: Array<{ port: number; name: string }> = await m.query(`SELECT port, name FROM port_allocation WHERE instance_id = $1`, [instanceId]);
  const bindings: PortBinding[] = [];
  for (const need of needs) {
    let port = have.find((h) => h.name === need.name)?.port;
    if (port === undefined) {
      port = await lowestFree(m, 'port_allocation', 'port', ports);
      await m.query(`INSERT INTO port_allocation (port, instance_id, name) VALUES ($1, $2, $3)`, [port, instanceId, need.name]);
    }
    bindings.push({ name: need.name, port, protocol: need.protocol });
  }
  return { vmid, ports: bindings };
}

/** The lowest number of the range no row of `table` holds (names are ours, never input). */
async function lowestFree(m: EntityManager, table: 'vmid_allocation' | 'port_allocation', column: 'vmid' | 'port', range: Range): Promise<number> {
  const free: Array<{ g: number }> = await m.query(
    `SELECT g FROM generate_series($1::int, $2::int) g WHERE NOT EXISTS (SELECT 1 FROM ${table} t WHERE t.${column} = g) ORDER BY g LIMIT 1`,
    [range.min, range.max],
  );
  if (!free.length) throw new ConflictError(`No free ${column === 'vmid' ? 'VMID' : 'port'} in the configured range`, { range });
  return free[0].g;
}

/** A VMID found taken on the hosting side by something not ours: keep it out of future grants. */
export async function markVmidForeign(m: EntityManager, vmid: number): Promise<void> {
  await m.query(`UPDATE vmid_allocation SET instance_id = NULL, reason = 'foreign' WHERE vmid = $1`, [vmid]);
}

export async function release(m: EntityManager, instanceId: string): Promise<void> {
  await m.query(`DELETE FROM port_allocation WHERE instance_id = $1`, [instanceId]);
  await m.query(`DELETE FROM vmid_allocation WHERE instance_id = $1`, [instanceId]);
}
