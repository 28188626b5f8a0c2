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
  // What a re-run already holds, both kinds in one statement.
  const [held]: Array<{ vmid: number | null; ports: Array<{ port: number; name: string }> }> = await m.query(
    `SELECT (SELECT vmid FROM vmid_allocation WHERE instance_id = $1) AS vmid,
            COALESCE((SELECT json_agg(json_build_object('port', port, 'name', name)) FROM port_allocation WHERE instance_id = $1), '[]') AS ports`,
    [instanceId],
  );
  const vmid = held.vmid ?? await grantLowestFree(m, 'vmid', vmids, { instance_id: '$3::uuid' }, [instanceId]);
  const bindings: PortBinding[] = [];
  for (const need of needs) {
    const port = held.ports.find((h) => h.name === need.name)?.port
      ?? await grantLowestFree(m, 'port', ports, { instance_id: '$3::uuid', name: '$4::text' }, [instanceId, need.name]);
    bindings.push({ name: need.name, port, protocol: need.protocol });
  }
  return { vmid, ports: bindings };
}

/**
 * Inserts the lowest number of the range no row of `<column>_allocation` holds, the other
 * columns set from parameters $3 on, and returns it: finding and taking it is one statement.
 * Table and column names are ours, never input.
 */
async function grantLowestFree(
  m: EntityManager, column: 'vmid' | 'port', range: Range, others: Record<string, string>, values: string[],
): Promise<number> {
  const table = `${column}_allocation`;
  const granted: Array<{ g: number }> = await m.query(
    `INSERT INTO ${table} (${column}, ${Object.keys(others).join(', ')}) SELECT g, ${Object.values(others).join(', ')}
       FROM generate_series($1::int, $2::int) g
      WHERE NOT EXISTS (SELECT 1 FROM ${table} t WHERE t.${column} = g) ORDER BY g LIMIT 1 RETURNING ${column} AS g`,
    [range.min, range.max, ...values],
  );
  if (!granted.length) throw new ConflictError(`No free ${column === 'vmid' ? 'VMID' : 'port'} in the configured range`, { range });
  return granted[0].g;
}

/** A VMID found taken on the hosting side by something not ours: keep it out of future grants. */
export async function markVmidForeign(m: EntityManager, vmid: number): Promise<void> {
  await m.query(`UPDATE vmid_allocation SET instance_id = NULL, reason = 'foreign' WHERE vmid = $1`, [vmid]);
}

export async function release(m: EntityManager, instanceId: string): Promise<void> {
  await m.query(`DELETE FROM port_allocation WHERE instance_id = $1`, [instanceId]);
  await m.query(`DELETE FROM vmid_allocation WHERE instance_id = $1`, [instanceId]);
}
