import type { DataSource } from 'typeorm';
import { DriftDetector, KernelDrift, RoundRobin, eachLimited } from '../../api';
import type { DriftFinding, DriftReport, DriftScan, HostingProvider, InstanceView } from '../../api';


/** Operations past their deadline (one query per pass). */
export class StaleOperationDetector extends DriftDetector {
  readonly name = 'kernel.operations';
  readonly kinds = [KernelDrift.staleOperation];

  constructor(private readonly ds: DataSource, private readonly graceSeconds: () => number) {
    super();
  }

  async detect(): Promise<DriftReport> {
    const rows: Array<Record<string, any>> = await this.ds.query(
      `SELECT id, kind, state, phase, instance_id, deadline_at, lease_owner, lease_until FROM provisioning_operation
        WHERE state IN ('queued','running') AND deadline_at < now() - make_interval(secs => $1)
          AND (lease_until IS NULL OR lease_until < now())`, [this.graceSeconds()]);
    const findings = rows.map((r): DriftFinding => ({
      kind: KernelDrift.staleOperation, operationId: r.id, instanceId: r.instance_id ?? undefined, level: 1, action: 'mark_stale',
      evidence: { operationKind: r.kind, state: r.state, phase: r.phase, deadlineAt: iso(r.deadline_at), leaseOwner: r.lease_owner, leaseUntil: iso(r.lease_until) },
    }));
    return { findings };
  }
}

/**
 * Stored addresses against the hosting provider's live ones. Providers answer one container at a
 * time, so each pass checks a bounded share of the running fleet, round robin.
 */
export class AddressDetector extends DriftDetector {
  readonly name = 'kernel.addresses';
  readonly kinds = [KernelDrift.addressChanged];
  private readonly turn = new RoundRobin();

  constructor(private readonly hosting: () => HostingProvider | undefined, private readonly perPass: () => number) {
    super();
  }

  async detect(scan: DriftScan): Promise<DriftReport> {
    const hosting = this.hosting();
    if (!hosting) return { findings: [], examined: [] };
    const running = scan.instances.filter((i) => i.state === 'running' && i.vmid !== null && i.node !== null);
    const batch = this.turn.next(running, scan.everyInstance ? running.length : this.perPass());
    const findings: DriftFinding[] = [];
    const examined: string[] = [];
    await eachLimited(batch, 8, async (instance) => {
      if (scan.signal.aborted) return;
      const live = await hosting.address({ vmid: instance.vmid!, node: instance.node! }).catch(() => null);
      if (!live) return;
      examined.push(instance.id);
      if (live.host === instance.host && live.agentUrl === instance.address) return;
      findings.push(addressFinding(instance, live));
    });
    return { findings, examined };
  }
}

function addressFinding(instance: InstanceView, live: { host: string; agentUrl: string }): DriftFinding {
  return {
    kind: KernelDrift.addressChanged, instanceId: instance.id, level: 1, action: 'address_update',
    evidence: { stored: { host: instance.host, agentUrl: instance.address }, observed: live, vmid: instance.vmid, node: instance.node },
  };
}

const iso = (d: Date | null): string | null => (d ? new Date(d).toISOString() : null);

