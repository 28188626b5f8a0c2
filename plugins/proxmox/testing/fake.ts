import { HostingProvider, ProviderError } from '../../../kernel/api';
import type { ContainerRef, ContainerSpec, ContainerStatus } from '../../../kernel/api';
import { OPERATION_TAG_PREFIX } from '../provider';

interface FakeContainer {
  ref: ContainerRef;
  tags: string[];
  status: 'running' | 'stopped';
}

/**
 * HostingProvider in memory, for kernel and plugin tests that need containers but not the
 * Proxmox wire: the same adoption, refusal and 'already_gone' rules as ProxmoxHosting.
 */
export class FakeHosting extends HostingProvider {
  private readonly guests = new Map<number, FakeContainer>();

  constructor(private readonly nodes: string[] = ['pve1'], private readonly agentEndpoint = 'http://127.0.0.1:7071/ct/{vmid}') {
    super();
  }

  /** A container the provider did not create (it carries no operation tag of ours). */
  addForeign(vmid: number, node: string, tags: string[] = []): void {
    this.guests.set(vmid, { ref: { vmid, node }, tags, status: 'running' });
  }

  async pickNode(): Promise<string> {
    const load = (node: string) => [...this.guests.values()].filter((g) => g.ref.node === node).length;
    return this.nodes.reduce((best, node) => (load(node) < load(best) ? node : best));
  }

  async create(spec: ContainerSpec): Promise<ContainerRef> {
    const holder = this.guests.get(spec.vmid);
    if (holder) {
      const operationTag = spec.tags.find((t) => t.startsWith(OPERATION_TAG_PREFIX));
      if (operationTag && holder.tags.includes(operationTag)) return { ...holder.ref };
      throw new ProviderError('fake-hosting', 'create', `CT ${spec.vmid} already exists and was not created by this operation`, { reason: 'vmid_taken', vmid: spec.vmid });
    }
    this.guests.set(spec.vmid, { ref: { vmid: spec.vmid, node: spec.node }, tags: [...spec.tags], status: 'stopped' });
    return { vmid: spec.vmid, node: spec.node };
  }

  async start(ref: ContainerRef): Promise<void> {
    this.existing(ref, 'start').status = 'running';
  }

  async stop(ref: ContainerRef): Promise<void> {
    this.existing(ref, 'stop').status = 'stopped';
  }

  async destroy(ref: ContainerRef): Promise<'done' | 'already_gone'> {
    return this.guests.delete(ref.vmid) ? 'done' : 'already_gone';
  }

  async findByTag(tag: string): Promise<ContainerRef | null> {
    const hit = [...this.guests.values()].find((g) => g.tags.includes(tag));
    return hit ? { ...hit.ref } : null;
  }

  async locate(vmid: number): Promise<string | null> {
    return this.guests.get(vmid)?.ref.node ?? null;
  }

  async status(ref: ContainerRef): Promise<ContainerStatus> {
    return this.guests.get(ref.vmid)?.status ?? 'missing';
  }

  async address(ref: ContainerRef): Promise<string> {
    this.existing(ref, 'address');
    return this.agentEndpoint.replaceAll('{vmid}', String(ref.vmid));
  }

  private existing(ref: ContainerRef, operation: string): FakeContainer {
    const guest = this.guests.get(ref.vmid);
    if (!guest) throw new ProviderError('fake-hosting', operation, `CT ${ref.vmid} does not exist`, { reason: 'not_found', vmid: ref.vmid });
    return guest;
  }
}
