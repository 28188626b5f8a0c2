import { EdgeProvider, ProviderError } from '../../../kernel/api';
import type { EdgeRecord, InstanceView, PlayerAddress } from '../../../kernel/api';
import { playerAddress, srvRecordName } from '../provider';
import { TEST_SRV_SERVICE } from './fixture';

/** EdgeProvider in memory: one SRV record per instance, named as CloudflareEdge names it for the test's game type. */
export class FakeEdge extends EdgeProvider {
  private readonly records = new Map<string, EdgeRecord>();
  private nextId = 1;

  constructor(private readonly zoneName = 'play.example.test', private readonly target = 'proxy.play.example.test', private readonly port = 25565) {
    super();
  }

  async publish(instance: InstanceView): Promise<EdgeRecord> {
    if (instance.vmid === null) {
      throw new ProviderError('fake-edge', 'publish', `instance ${instance.id} has no VMID yet`, { reason: 'no_vmid', instanceId: instance.id });
    }
    const name = srvRecordName(TEST_SRV_SERVICE, instance.vmid, this.zoneName);
    const record = this.records.get(name) ?? { id: `rec-${this.nextId++}`, name, target: this.target, port: this.port };
    this.records.set(name, record);
    return { ...record };
  }

  async unpublish(instance: InstanceView): Promise<'done' | 'already_gone'> {
    if (instance.vmid === null) return 'already_gone';
    return this.records.delete(srvRecordName(TEST_SRV_SERVICE, instance.vmid, this.zoneName)) ? 'done' : 'already_gone';
  }

  override playerAddress(instance: InstanceView): PlayerAddress | null {
    if (instance.vmid === null) return null;
    const record = this.records.get(srvRecordName(TEST_SRV_SERVICE, instance.vmid, this.zoneName));
    return record ? { host: playerAddress(instance.vmid, this.zoneName), port: record.port } : null;
  }

  async list(): Promise<EdgeRecord[]> {
    return [...this.records.values()].map((r) => ({ ...r }));
  }
}
