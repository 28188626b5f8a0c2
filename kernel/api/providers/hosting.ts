import { PortId } from '../ports';
/** The machine layer: where containers live (Proxmox LXC in production). */
export interface ContainerSpec {
  vmid: number;
  node: string;
  hostname: string;
  /** A template name from the plan (e.g. the flavor "paper"); the provider maps it to its image. */
  template: string;
  memoryMb: number;
  cores: number;
  diskGb: number;
  /** Tags carried by the container; the operation id is one, so a re-run can adopt it. */
  tags: string[];
}
export interface ContainerRef {
  vmid: number;
  node: string;
}
export type ContainerStatus = 'running' | 'stopped' | 'missing';

export abstract class HostingProvider {
  static readonly port = new PortId<HostingProvider>('HostingProvider');
  /** The node a new container should go on (placement policy is the provider's). */
  abstract pickNode(): Promise<string>;
  /** Create (and wait for the create task); throws ProviderError on failure. */
  abstract create(spec: ContainerSpec): Promise<ContainerRef>;
  abstract start(ref: ContainerRef): Promise<void>;
  abstract stop(ref: ContainerRef): Promise<void>;
  /** "Does not exist" is success: returns 'already_gone'. */
  abstract destroy(ref: ContainerRef): Promise<'done' | 'already_gone'>;
  /** The container carrying this tag, if any (used to adopt after a crash mid-create). */
  abstract findByTag(tag: string): Promise<ContainerRef | null>;
  /** Which node holds this VMID right now, or null. */
  abstract locate(vmid: number): Promise<string | null>;
  abstract status(ref: ContainerRef): Promise<ContainerStatus>;
  /** Base URL of the container's agent (e.g. http://10.0.0.12:7070), built from the live container IP. */
  abstract address(ref: ContainerRef): Promise<string>;
}
