import type { DataSource } from 'typeorm';
import type { BillingGate, DriftFinding, InstanceView, MaintenanceCalendar } from '../../api';

/** Why a finding is recorded but not repaired. */
export type Hold = { reason: 'billing_suspended' } | { reason: 'maintenance'; windowId: string; node: string | null; endsAt: string };

/**
 * What keeps a repair from running: the owner's account is suspended (its servers are never
 * brought back), or a maintenance window holds the instance's node. Asked once per owner and node.
 */
export class RepairGuards {
  constructor(
    private readonly ds: DataSource,
    private readonly billing: () => BillingGate | undefined,
    private readonly maintenance: () => MaintenanceCalendar,
  ) {}

  /** Holds by instance id, for the instances the findings are about. */
  async holds(findings: readonly DriftFinding[], instances: ReadonlyMap<string, InstanceView>): Promise<Map<string, Hold>> {
    const concerned = [...new Set(findings.map((f) => f.instanceId).filter((id): id is string => !!id))]
      .map((id) => instances.get(id)).filter((i): i is InstanceView => !!i);
    const out = new Map<string, Hold>();
    if (!concerned.length) return out;
    const suspended = await this.suspendedOwners([...new Set(concerned.map((i) => i.ownerId))]);
    const windows = new Map<string | null, Hold | null>();
    for (const node of new Set(concerned.map((i) => i.node))) {
      const w = await this.maintenance().activeFor(node);
      windows.set(node, w ? { reason: 'maintenance', windowId: w.id, node: w.node, endsAt: w.endsAt.toISOString() } : null);
    }
    for (const i of concerned) {
      const hold: Hold | null = suspended.has(i.ownerId) ? { reason: 'billing_suspended' } : windows.get(i.node) ?? null;
      if (hold) out.set(i.id, hold);
    }
    return out;
  }

  async holdFor(instance: InstanceView | null): Promise<Hold | null> {
    if (!instance) return null;
    const map = new Map([[instance.id, instance]]);
    return (await this.holds([{ kind: '', instanceId: instance.id, level: 1, action: '', evidence: {} }], map)).get(instance.id) ?? null;
  }

  /** Owners whose account is suspended: one query for the accounts, then the gate for those it enforces. */
  private async suspendedOwners(owners: string[]): Promise<Set<string>> {
    const gate = this.billing();
    const out = new Set<string>();
    if (!gate) return out;
    const rows: Array<{ id: string; role: string; billing_exempt: boolean }> = await this.ds.query(
      `SELECT id, role, billing_exempt FROM account WHERE id = ANY($1::uuid[])`, [owners]);
    for (const row of rows) {
      if (row.role === 'admin' || row.billing_exempt) continue;
      if ((await gate.stateOf(row.id)) === 'suspended') out.add(row.id);
    }
    return out;
  }
}
