import { setTimeout as sleep } from 'node:timers/promises';
import { HostingProvider, ProviderError, UnavailableError, VmidTakenError } from '../../kernel/api';
import type { ContainerAddress, ContainerRef, ContainerSpec, ContainerStatus, HostedContainer, Placement } from '../../kernel/api';
import type { ProxmoxConfig } from './config';
import { isProxmoxError } from './client/errors';
import type { ProxmoxClient } from './client/proxmox-client';
import { hasTag, parseTags, type ClusterResource } from './client/wire';

/** Each container carries the id of the operation that created it as `op-<uuid>`; a re-run adopts by it. */
export const operationTag = (operationId: string): string => `op-${operationId}`;
/** Container hostnames: `zp-<vmid>`, stable for the container's life. */
export const hostnameOf = (vmid: number): string => `zp-${vmid}`;

/** Where the provider finds its client; read on each call so the client can be set up in start(). */
export interface ProxmoxLink {
  readonly client: ProxmoxClient;
  /** The agent address template in force when it is not config.agentEndpoint (the agent simulator's, in simulate mode). */
  readonly agentEndpoint?: string;
}

/** HostingProvider on Proxmox VE: each container is an unprivileged LXC guest. */
export class ProxmoxHosting extends HostingProvider {
  constructor(private readonly config: ProxmoxConfig, private readonly link: ProxmoxLink) {
    super();
  }

  async create(spec: ContainerSpec): Promise<ContainerRef> {
    const { client } = this.link;
    let task: string;
    try {
      task = await client.createLxc(spec.node, {
        vmid: spec.vmid,
        hostname: hostnameOf(spec.vmid),
        description: `${spec.instanceName} (zpack instance ${spec.instanceId})`,
        ostemplate: this.template(spec.template),
        memory: spec.memoryMb,
        cores: spec.cores,
        rootfs: `${this.config.storage}:${spec.diskGb}`,
        net0: `name=eth0,bridge=${this.config.bridge},ip=dhcp`,
        tags: [this.config.managedTag, operationTag(spec.operationId)].join(';'),
        unprivileged: true,
      });
    } catch (err) {
      if (isProxmoxError(err, 'already_exists')) return this.adopt(spec);
      throw err;
    }
    await client.waitTask(spec.node, task);
    return { vmid: spec.vmid, node: spec.node };
  }

  /** A taken-over container gets the managed tag beside its own; without it destroy() refuses it. */
  /** With the container as `list` saw it, its tags are not read again: one write per container to tag. */
  async markManaged(ref: ContainerRef, listed?: HostedContainer): Promise<'tagged' | 'already_managed'> {
    const { client } = this.link;
    const tags = listed ? listed.marks.join(';') : (await client.lxcConfig(ref.node, ref.vmid)).tags;
    if (hasTag(tags, this.config.managedTag)) return 'already_managed';
    await client.setLxcTags(ref.node, ref.vmid, [...parseTags(tags), this.config.managedTag]);
    return 'tagged';
  }

  /** One `/cluster/resources` read: every LXC guest with its node, status and tags. */
  async list(): Promise<HostedContainer[]> {
    return (await this.guests()).filter((g) => g.type === 'lxc' && g.vmid !== undefined && g.node).map((g) => ({
      vmid: g.vmid!, node: g.node!, status: g.status ?? 'unknown', managed: hasTag(g.tags, this.config.managedTag), marks: parseTags(g.tags),
    }));
  }

  async resize(ref: ContainerRef, memoryMb: number): Promise<void> {
    await this.link.client.setLxcMemory(ref.node, ref.vmid, memoryMb);
  }

  async start(ref: ContainerRef): Promise<void> {
    const { client } = this.link;
    try {
      await client.waitTask(ref.node, await client.startLxc(ref.node, ref.vmid));
    } catch (err) {
      if (!isProxmoxError(err, 'already_running')) throw err;
    }
  }

  /** Clean shutdown (the game saves its world), forced after shutdownTimeoutSeconds. */
  async stop(ref: ContainerRef): Promise<void> {
    const { client } = this.link;
    try {
      await client.waitTask(ref.node, await client.shutdownLxc(ref.node, ref.vmid, this.config.shutdownTimeoutSeconds));
    } catch (err) {
      if (!isProxmoxError(err, 'not_running')) throw err;
    }
  }

  async destroy(ref: ContainerRef): Promise<'done' | 'already_gone'> {
    const { client } = this.link;
    const config = await unlessMissing(client.lxcConfig(ref.node, ref.vmid));
    if (!config) return 'already_gone';
    // A VMID pointing at a container zpack did not make must never cost someone else their guest.
    if (!hasTag(config.tags, this.config.managedTag)) {
      throw new ProviderError('proxmox', 'destroy', `CT ${ref.vmid} does not carry the "${this.config.managedTag}" tag; refusing to destroy it`,
        { reason: 'not_managed', vmid: ref.vmid, node: ref.node, tags: parseTags(config.tags) });
    }
    const current = await unlessMissing(client.lxcStatus(ref.node, ref.vmid));
    if (!current) return 'already_gone';
    if (current.status === 'running') {
      try {
        await client.waitTask(ref.node, await client.stopLxc(ref.node, ref.vmid));
      } catch (err) {
        if (!isProxmoxError(err, 'not_running')) throw err;
      }
    }
    const task = await unlessMissing(client.deleteLxc(ref.node, ref.vmid, { purge: true, force: true }));
    if (!task) return 'already_gone';
    await client.waitTask(ref.node, task);
    return 'done';
  }

  async findByOperation(operationId: string): Promise<ContainerRef | null> {
    const tag = operationTag(operationId);
    const hit = (await this.guests()).find((g) => g.type === 'lxc' && hasTag(g.tags, tag) && hasTag(g.tags, this.config.managedTag));
    return hit ? { vmid: hit.vmid, node: hit.node } : null;
  }

  /** Any guest holding the VMID counts (VMIDs are unique across LXC and QEMU). */
  async locate(vmid: number): Promise<string | null> {
    return (await this.guests()).find((g) => g.vmid === vmid)?.node ?? null;
  }

  async status(ref: ContainerRef): Promise<ContainerStatus> {
    const current = await unlessMissing(this.link.client.lxcStatus(ref.node, ref.vmid));
    return current?.status ?? 'missing';
  }

  async address(ref: ContainerRef): Promise<ContainerAddress> {
    const interfaces = await this.link.client.lxcInterfaces(ref.node, ref.vmid);
    const ip = interfaces.find((i) => i.name === 'eth0')?.inet?.split('/')[0];
    if (!ip) {
      throw new ProviderError('proxmox', 'address', `CT ${ref.vmid} has no IPv4 address on eth0 yet`,
        { reason: 'no_address', vmid: ref.vmid, node: ref.node });
    }
    const agentUrl = (this.link.agentEndpoint ?? this.config.agentEndpoint).replaceAll('{ip}', ip).replaceAll('{vmid}', String(ref.vmid));
    return { host: ip, agentUrl };
  }

  /** The configured node with the fewest managed containers, of those not excluded; ties go to the one listed first. */
  async pickNode(placement: Placement = {}): Promise<string> {
    const excluded = new Set(placement.exclude ?? []);
    const nodes = this.config.nodes.filter((node) => !excluded.has(node));
    if (!nodes.length) throw new UnavailableError('Every configured node is excluded from placement (maintenance)', { nodes: this.config.nodes });
    // One node: nothing to weigh, and no need to list the whole cluster on every create.
    if (nodes.length === 1) return nodes[0];
    const counts = new Map(nodes.map((node) => [node, 0]));
    for (const guest of await this.guests()) {
      const count = counts.get(guest.node);
      if (count !== undefined && guest.type === 'lxc' && hasTag(guest.tags, this.config.managedTag)) counts.set(guest.node, count + 1);
    }
    return [...counts].reduce((best, entry) => (entry[1] < best[1] ? entry : best))[0];
  }

  /** "Already exists": ours only if the holder carries this operation's tag (a crashed earlier attempt made it). */
  private async adopt(spec: ContainerSpec): Promise<ContainerRef> {
    const holder = (await this.guests()).find((g) => g.vmid === spec.vmid);
    if (!holder || holder.type !== 'lxc' || !hasTag(holder.tags, operationTag(spec.operationId))) {
      throw new VmidTakenError('proxmox', spec.vmid, {
        holder: holder ? { node: holder.node, type: holder.type, tags: parseTags(holder.tags) } : null,
      });
    }
    const ref = { vmid: spec.vmid, node: holder.node };
    await this.untilUnlocked(ref);
    return ref;
  }

  /** The earlier attempt's create task may still be running; its lock goes when it is done. */
  private async untilUnlocked(ref: ContainerRef): Promise<void> {
    const deadline = Date.now() + this.config.taskTimeoutMs;
    while ((await this.link.client.lxcConfig(ref.node, ref.vmid)).lock) {
      if (Date.now() + this.config.taskPollMs > deadline) {
        throw new ProviderError('proxmox', 'create', `CT ${ref.vmid} still locked after ${this.config.taskTimeoutMs} ms`,
          { reason: 'locked', vmid: ref.vmid, node: ref.node });
      }
      await sleep(this.config.taskPollMs);
    }
  }

  private template(flavor: string): string {
    if (flavor.includes(':')) return flavor;
    const volid = this.config.templates[flavor] ?? this.config.templates.default;
    if (!volid) {
      throw new ProviderError('proxmox', 'create', `no template configured for "${flavor}" and no default`, { reason: 'unknown_template', flavor });
    }
    return volid;
  }

  private async guests(): Promise<Array<ClusterResource & { vmid: number; node: string }>> {
    const resources = await this.link.client.clusterResources('vm');
    return resources.filter((r): r is ClusterResource & { vmid: number; node: string } => r.vmid !== undefined && r.node !== undefined);
  }
}

/** The call's result, or undefined when Proxmox says the container does not exist. */
async function unlessMissing<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (err) {
    if (isProxmoxError(err, 'not_found')) return undefined;
    throw err;
  }
}
