import { DriftDetector } from '../../kernel/api';
import type { DriftFinding, DriftReport, DriftScan, InstanceState } from '../../kernel/api';
import type { ProxmoxConfig } from './config';
import { hasTag, parseTags } from './client/wire';
import type { ProxmoxClient } from './client/proxmox-client';

/** The drift kinds this plugin reports. Only a stopped container is ever repaired (Level 2, once approved). */
export const ContainerDrift = {
  /** The database has a container the cluster does not. */
  missing: 'container_missing',
  /** A container tagged as ours that no live instance has. */
  orphan: 'container_orphan',
  /** The container is on another node than the stored one. */
  moved: 'container_moved',
  /** Stopped while the database says running. */
  stopped: 'container_stopped',
} as const;

/** States in which the instance's container must exist. */
const HOSTED: ReadonlySet<InstanceState> = new Set(['running', 'stopped', 'crashed', 'error']);

/** The cluster against the database: one `/cluster/resources` listing per pass. */
export class ContainerDriftDetector extends DriftDetector {
  readonly name = 'proxmox';
  readonly kinds = Object.values(ContainerDrift);

  constructor(private readonly config: ProxmoxConfig, private readonly client: () => ProxmoxClient) {
    super();
  }

  async detect(scan: DriftScan): Promise<DriftReport> {
    const guests = (await this.client().clusterResources('vm')).filter((g) => g.vmid !== undefined);
    const byVmid = new Map(guests.map((g) => [g.vmid!, g] as const));
    const known = new Set<number>();
    const findings: DriftFinding[] = [];
    for (const instance of scan.instances) {
      if (instance.vmid === null) continue;
      known.add(instance.vmid);
      if (!HOSTED.has(instance.state)) continue;
      const guest = byVmid.get(instance.vmid);
      const at = { vmid: instance.vmid, node: instance.node, state: instance.state };
      if (!guest) {
        findings.push({ kind: ContainerDrift.missing, instanceId: instance.id, level: 3, action: 'recreate_container', evidence: at });
        continue;
      }
      if (guest.node !== instance.node) {
        findings.push({ kind: ContainerDrift.moved, instanceId: instance.id, level: 3, action: 'move_container_or_record_node', evidence: { ...at, observedNode: guest.node } });
      }
      if (instance.state === 'running' && guest.status === 'stopped') {
        findings.push({ kind: ContainerDrift.stopped, instanceId: instance.id, level: 2, action: 'start_container', evidence: { ...at, observed: guest.status, node: guest.node } });
      }
    }
    for (const guest of guests) {
      if (known.has(guest.vmid!) || guest.type !== 'lxc' || !hasTag(guest.tags, this.config.managedTag)) continue;
      findings.push({
        kind: ContainerDrift.orphan, subject: `${ContainerDrift.orphan}:${guest.vmid}`, level: 3, action: 'delete_orphan',
        evidence: { vmid: guest.vmid, node: guest.node, status: guest.status, tags: parseTags(guest.tags) },
      });
    }
    return { findings };
  }
}
