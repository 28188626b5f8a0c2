import { HostingProvider, ProviderError, UnavailableError, VmidTakenError } from '../../../kernel/api';
import type { ContainerAddress, ContainerRef, ContainerSpec, ContainerStatus, Placement } from '../../../kernel/api';

interface FakeContainer {
  ref: ContainerRef;
  /** The create operation that made it; null for a container this provider did not make. */
  operationId: string | null;
  status: 'running' | 'stopped';
}

/**
 * HostingProvider in memory, for kernel and plugin tests that need containers but not the
 * Proxmox wire: the same adoption, refusal and 'already_gone' rules as ProxmoxHosting.
 */
export class FakeHosting extends HostingProvider {
  private readonly guests = new Map<number, FakeContainer>();

  constructor(
    private readonly nodes: string[] = ['pve1'],
    private readonly agentEndpoint = 'http://127.0.0.1:7071/ct/{vmid}',
    private readonly host = '127.0.0.1',
  ) {
    super();
  }

  /** A container the provider did not create: never adopted, found or destroyed. */
  addForeign(vmid: number, node: string): void {
    this.guests.set(vmid, { ref: { vmid, node }, operationId: null, status: 'running' });
  }

  async pickNode(placement: Placement = {}): Promise<string> {
    const load = (node: string) => [...this.guests.values()].filter((g) => g.ref.node === node && g.operationId !== null).length;
    const nodes = this.nodes.filter((node) => !placement.exclude?.includes(node));
    if (!nodes.length) throw new UnavailableError('Every node is excluded from placement (maintenance)');
    return nodes.reduce((best, node) => (load(node) < load(best) ? node : best));
  }

  async create(spec: ContainerSpec): Promise<ContainerRef> {
    const holder = this.guests.get(spec.vmid);
    if (holder) {
      if (holder.operationId === spec.operationId) return { ...holder.ref };
      throw new VmidTakenError('fake-hosting', spec.vmid);
    }
    this.guests.set(spec.vmid, { ref: { vmid: spec.vmid, node: spec.node }, operationId: spec.operationId, status: 'stopped' });
    return { vmid: spec.vmid, node: spec.node };
  }

  async start(ref: ContainerRef): Promise<void> {
    this.existing(ref, 'start').status = 'running';
  }

  async stop(ref: ContainerRef): Promise<void> {
    this.existing(ref, 'stop').status = 'stopped';
  }

  async destroy(ref: ContainerRef): Promise<'done' | 'already_gone'> {
    const guest = this.guests.get(ref.vmid);
    if (!guest) return 'already_gone';
    if (guest.operationId === null) {
      throw new ProviderError('fake-hosting', 'destroy', `CT ${ref.vmid} was not made by this provider; refusing to destroy it`, { reason: 'not_managed', vmid: ref.vmid });
    }
    this.guests.delete(ref.vmid);
    return 'done';
  }

  async findByOperation(operationId: string): Promise<ContainerRef | null> {
    const hit = [...this.guests.values()].find((g) => g.operationId === operationId);
    return hit ? { ...hit.ref } : null;
  }

  async locate(vmid: number): Promise<string | null> {
    return this.guests.get(vmid)?.ref.node ?? null;
  }

  async status(ref: ContainerRef): Promise<ContainerStatus> {
    return this.guests.get(ref.vmid)?.status ?? 'missing';
  }

  async address(ref: ContainerRef): Promise<ContainerAddress> {
    this.existing(ref, 'address');
    return { host: this.host, agentUrl: this.agentEndpoint.replaceAll('{vmid}', String(ref.vmid)) };
  }

  private existing(ref: ContainerRef, operation: string): FakeContainer {
    const guest = this.guests.get(ref.vmid);
    if (!guest) throw new ProviderError('fake-hosting', operation, `CT ${ref.vmid} does not exist`, { reason: 'not_found', vmid: ref.vmid });
    return guest;
  }
}
