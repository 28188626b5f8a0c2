import { setTimeout as sleep } from 'node:timers/promises';
import { EdgeProvider, ProviderError } from '../../kernel/api';
import type { EdgeRecord, InstanceView, PlayerAddress } from '../../kernel/api';
import type { CloudflareConfig } from './config';
import { retryBackoffMs, type CloudflareClient } from './client/cloudflare-client';
import { isCloudflareError } from './client/errors';
import type { DnsRecord, SrvRecordInput } from './client/wire';
import type { EdgeSection } from './hooks';

/** One target per name, so priority and weight only need to be valid. */
const SRV_PRIORITY = 0;
const SRV_WEIGHT = 5;

/**
 * The address players type: `mc-<vmid>.<zoneName>`. The VMID is fixed once the container exists
 * and unique among live instances (Postgres allocates it), and is not released until teardown
 * has unpublished the record, so a name never points at two instances.
 */
export const playerAddress = (vmid: number, zoneName: string): string => `mc-${vmid}.${zoneName}`;
/** `<service>.<address>`, the service being the one the instance's type declares (e.g. `_minecraft._tcp`). */
export const srvRecordName = (service: string, vmid: number, zoneName: string): string => `${service}.${playerAddress(vmid, zoneName)}`;

/** The SRV service of an instance's type (its capabilities' `connect.srvService`), or undefined when it has none. */
export type SrvServiceOf = (instance: InstanceView) => string | undefined;

/** Where the provider finds its client and zone; read on each call so they can be set up in start(). */
export interface CloudflareLink {
  readonly client: CloudflareClient;
  readonly zoneId: string;
}

/** EdgeProvider on Cloudflare DNS: one SRV record per instance whose type names an SRV service, pointing at the proxy. */
export class CloudflareEdge extends EdgeProvider {
  private readonly managedName: RegExp;

  /** `section`: the payload section the hooks record publications in (the plugin's name). */
  constructor(
    private readonly config: CloudflareConfig,
    private readonly link: CloudflareLink,
    private readonly srvServiceOf: SrvServiceOf,
    private readonly section: string,
  ) {
    super();
    this.managedName = new RegExp(`^_[a-z0-9-]+\\._(?:tcp|udp)\\.mc-\\d+\\.${escapeRegExp(config.zoneName)}$`, 'i');
  }

  /** Upsert by name: the one record with this name ends up pointing at the proxy; extra ones are deleted. */
  async publish(instance: InstanceView): Promise<EdgeRecord> {
    const desired = this.desired(instance);
    const { client, zoneId } = this.link;
    for (let attempt = 0; ; attempt++) {
      const existing = await client.listDnsRecords(zoneId, { type: 'SRV', name: desired.name });
      const kept = existing.find((r) => matches(r, desired)) ?? existing[0];
      let record: DnsRecord;
      if (!kept) {
        try {
          record = await client.createDnsRecord(zoneId, desired);
        } catch (err) {
          // The create may have landed before the failure, or a concurrent publish made it: look again, never post blind.
          const lookAgain = isCloudflareError(err) && (err.transient || err.reason === 'already_exists');
          if (!lookAgain || attempt >= this.config.maxRetries) throw err;
          await sleep(retryBackoffMs(attempt));
          continue;
        }
      } else {
        record = matches(kept, desired) ? kept : await client.updateDnsRecord(zoneId, kept.id, desired);
      }
      for (const extra of existing) if (extra.id !== record.id) await this.deleteIfPresent(extra.id);
      return { id: record.id, name: record.name, target: desired.data.target, port: desired.data.port };
    }
  }

  /** Deletes every SRV record with the instance's name; 'already_gone' when there was none. */
  async unpublish(instance: InstanceView): Promise<'done' | 'already_gone'> {
    const service = this.srvServiceOf(instance);
    if (service === undefined || instance.vmid === null) return 'already_gone';
    const { client, zoneId } = this.link;
    const existing = await client.listDnsRecords(zoneId, { type: 'SRV', name: srvRecordName(service, instance.vmid, this.config.zoneName) });
    let removed = false;
    for (const record of existing) removed = (await this.deleteIfPresent(record.id)) || removed;
    return removed ? 'done' : 'already_gone';
  }

  /** The SRV records this provider manages: `_<service>._<proto>.mc-<vmid>.<zoneName>`. */
  async list(): Promise<EdgeRecord[]> {
    const { client, zoneId } = this.link;
    const records = await client.listDnsRecords(zoneId, { type: 'SRV' });
    return records.flatMap((r) => {
      const { target, port } = r.data ?? {};
      // A record without SRV data cannot be described; it shows as missing and the next publish rewrites it.
      if (!this.managedName.test(r.name) || target === undefined || port === undefined) return [];
      return [{ id: r.id, name: r.name, target, port }];
    });
  }

  /** From the record this plugin's hooks keep in its payload section: published means reachable. */
  override playerAddress(instance: InstanceView): PlayerAddress | null {
    const section = instance.payload[this.section] as EdgeSection | undefined;
    if (!section?.published || !section.record || instance.vmid === null) return null;
    return { host: playerAddress(instance.vmid, this.config.zoneName), port: section.record.port };
  }

  private desired(instance: InstanceView): SrvRecordInput & { data: { target: string; port: number } } {
    const service = this.srvServiceOf(instance);
    if (service === undefined) {
      throw new ProviderError('cloudflare', 'publish', `instance ${instance.id} is of type ${instance.type}, which declares no SRV service`,
        { reason: 'no_srv_service', instanceId: instance.id });
    }
    if (instance.vmid === null) {
      throw new ProviderError('cloudflare', 'publish', `instance ${instance.id} has no VMID yet`, { reason: 'no_vmid', instanceId: instance.id });
    }
    const { zoneName, target, port, ttl } = this.config;
    return {
      type: 'SRV', name: srvRecordName(service, instance.vmid, zoneName), ttl,
      data: { priority: SRV_PRIORITY, weight: SRV_WEIGHT, port, target },
      comment: `zpack instance ${instance.id}`,
    };
  }

  /** False when the record was already gone (someone else removed it first). */
  private async deleteIfPresent(id: string): Promise<boolean> {
    try {
      await this.link.client.deleteDnsRecord(this.link.zoneId, id);
      return true;
    } catch (err) {
      if (isCloudflareError(err, 'not_found')) return false;
      throw err;
    }
  }
}

function matches(record: DnsRecord, desired: SrvRecordInput): boolean {
  const { data } = record;
  return record.ttl === desired.ttl && (record.comment ?? undefined) === desired.comment
    && data?.priority === desired.data.priority && data.weight === desired.data.weight
    && data.port === desired.data.port && data.target?.toLowerCase().replace(/\.$/, '') === desired.data.target;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
