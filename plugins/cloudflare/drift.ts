import { DriftDetector } from '../../kernel/api';
import type { DriftFinding, DriftReport, DriftScan, EdgeProvider, EdgeRecord, InstanceState } from '../../kernel/api';
import type { CloudflareConfig } from './config';
import { srvRecordName, type SrvServiceOf } from './provider';

/** The drift kinds this plugin reports and repairs (onRepair republishes). */
export const EdgeDrift = { missing: 'edge_missing', wrong: 'edge_wrong' } as const;

/** Instances that should have a record: the ones the repair would republish. */
const PUBLISHED_STATES: ReadonlySet<InstanceState> = new Set(['running', 'stopped', 'crashed']);

/**
 * Every instance whose type names an SRV service should have exactly its record, pointing at the
 * proxy: one paged listing of the zone's SRV records per pass, compared with the database.
 */
export class EdgeDriftDetector extends DriftDetector {
  readonly name = 'cloudflare';
  readonly kinds = [EdgeDrift.missing, EdgeDrift.wrong];

  constructor(private readonly config: CloudflareConfig, private readonly edge: () => EdgeProvider, private readonly srvServiceOf: SrvServiceOf) {
    super();
  }

  async detect(scan: DriftScan): Promise<DriftReport> {
    const byName = new Map<string, EdgeRecord[]>();
    for (const record of await this.edge().list()) {
      const key = record.name.toLowerCase();
      byName.set(key, [...(byName.get(key) ?? []), record]);
    }
    const { target, port, zoneName } = this.config;
    const findings: DriftFinding[] = [];
    // A type's SRV service is the same for all its instances: asked once per type per pass.
    const services = new Map<string, string | undefined>();
    for (const instance of scan.instances) {
      if (!services.has(instance.type)) services.set(instance.type, this.srvServiceOf(instance));
      const service = services.get(instance.type);
      if (!service || instance.vmid === null || !PUBLISHED_STATES.has(instance.state)) continue;
      const name = srvRecordName(service, instance.vmid, zoneName);
      const records = byName.get(name.toLowerCase()) ?? [];
      const expected = { target, port };
      if (!records.length) {
        findings.push({ kind: EdgeDrift.missing, instanceId: instance.id, level: 1, action: 'edge_republish', evidence: { name, expected } });
      } else if (!records.some((r) => r.target.toLowerCase().replace(/\.$/, '') === target && r.port === port) || records.length > 1) {
        findings.push({
          kind: EdgeDrift.wrong, instanceId: instance.id, level: 1, action: 'edge_republish',
          evidence: { name, expected, found: records.map((r) => ({ id: r.id, target: r.target, port: r.port })) },
        });
      }
    }
    return { findings };
  }
}
