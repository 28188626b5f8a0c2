import { PortId } from '../ports';
import { UnavailableError } from '../errors';
/**
 * The machine layer: where containers live. The provider owns how a container is named and
 * marked as ours (hostnames, tags, labels): the kernel hands it ids and never spells either.
 */
export interface ContainerSpec {
  vmid: number;
  node: string;
  /** The create operation making it: a re-run finds the container by it (findByOperation). */
  operationId: string;
  instanceId: string;
  /** The instance's display name, e.g. for a description; never a hostname as is. */
  instanceName: string;
  /** A template name from the plan (e.g. a flavor); the provider maps it to its image. */
  template: string;
  memoryMb: number;
  cores: number;
  diskGb: number;
}
export interface ContainerRef {
  vmid: number;
  node: string;
}
export type ContainerStatus = 'running' | 'stopped' | 'missing';

/** One container as a bulk listing of the hosts sees it. */
export interface HostedContainer extends ContainerRef {
  status: string;
  /** Marked as ours (HostingProvider.markManaged, or created here). */
  managed: boolean;
  /** The provider's own marks on it, as listed (handed back to markManaged so it need not read them again). */
  marks: readonly string[];
}

/** Where a running container is reached. */
export interface ContainerAddress {
  /** The container's own address (IP or hostname), e.g. for a proxy backend. */
  host: string;
  /** Base URL of the container's agent, e.g. http://10.0.0.12:7070. */
  agentUrl: string;
}

/** What placement must respect. */
export interface Placement {
  /** Nodes that take no new container now. */
  exclude?: readonly string[];
}

export abstract class HostingProvider {
  static readonly port = new PortId<HostingProvider>('HostingProvider');
  /**
   * The node a new container should go on (placement policy is the provider's), never one of
   * `placement.exclude` (nodes in a maintenance window); UnavailableError when every node is excluded.
   */
  abstract pickNode(placement?: Placement): Promise<string>;
  /**
   * Create (and wait for the create task); throws ProviderError on failure, VmidTakenError when
   * the VMID is held by a container this operation did not create.
   */
  abstract create(spec: ContainerSpec): Promise<ContainerRef>;
  abstract start(ref: ContainerRef): Promise<void>;
  abstract stop(ref: ContainerRef): Promise<void>;
  /** "Does not exist" is success: returns 'already_gone'. Refuses a container it did not make. */
  abstract destroy(ref: ContainerRef): Promise<'done' | 'already_gone'>;
  /** The container made for this create operation, if any (used to adopt after a crash mid-create). */
  abstract findByOperation(operationId: string): Promise<ContainerRef | null>;
  /** Which node holds this VMID right now, or null. */
  abstract locate(vmid: number): Promise<string | null>;
  abstract status(ref: ContainerRef): Promise<ContainerStatus>;
  /** The container's live address and its agent's base URL. */
  abstract address(ref: ContainerRef): Promise<ContainerAddress>;
  /** Changes the container's memory limit (MiB) while it runs; a provider that cannot answers UnavailableError. */
  resize(_ref: ContainerRef, _memoryMb: number): Promise<void> {
    return Promise.reject(new UnavailableError('The hosting provider cannot change a container\'s memory', { operation: 'resize' }));
  }
  /**
   * Marks a container another system made (a fleet taken over) as ours, so zpack may later manage
   * and destroy it; nothing else about it changes. A provider that cannot answers UnavailableError.
   */
  markManaged(_ref: ContainerRef, _listed?: HostedContainer): Promise<'tagged' | 'already_managed'> {
    return Promise.reject(new UnavailableError('The hosting provider cannot take over a container', { operation: 'markManaged' }));
  }
  /**
   * Every container on the hosts, in one bulk read (a fleet taken over is checked against it, not
   * one call per container). A provider that cannot answers UnavailableError; callers then ask per container.
   */
  list(): Promise<HostedContainer[]> {
    return Promise.reject(new UnavailableError('The hosting provider cannot list its containers', { operation: 'list' }));
  }
}
