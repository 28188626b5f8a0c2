import { PortId } from './ports';
import type { InstanceView } from './domain';

/** A container of the system being replaced, as a sample fleet wants the hosting simulator to hold it. */
export interface SeededContainer {
  vmid: number;
  node: string;
  hostname: string;
  state: 'running' | 'stopped';
  memoryMb: number;
  /** The old system's own tags. */
  tags: string[];
  /** Also carries zpack's managed tag already (the import then reports it as already managed). */
  managed: boolean;
}

/** A part of an imported server a seeder leaves out on purpose: drift the controller should find. */
export type SeedOmission = 'agent' | 'edge' | 'proxy';

/** An imported server, as the simulators of its agent, DNS and proxy should know it. */
export interface SeededServer {
  instance: InstanceView;
  /** What its agent holds: the token it accepts (another than ours for an agent that predates ours) and its payload. */
  agent: { token: string; payload: Record<string, unknown> };
  omit: readonly SeedOmission[];
}

/**
 * Puts a sample fleet into a plugin's loopback simulator (`zpack import --sample`), as the old
 * system left it. Each plugin with a simulator provides one for its own system and reaches the
 * simulator the way its client does (in this process, or the `zpack simulators` process in
 * remote mode), so the kernel never names the systems it seeds. Provided only in simulate mode.
 */
export abstract class SimulatorSeeder {
  static readonly port = new PortId<SimulatorSeeder>('SimulatorSeeder', { multiple: true });
  /** Its plugin's name, for the sample's report. */
  abstract readonly name: string;
  /** Before the import: the containers the hosting system holds. Answers how many it put in place. */
  seedContainers(_containers: readonly SeededContainer[]): Promise<number> {
    return Promise.resolve(0);
  }
  /** After the import: the agents, records and registrations of the imported servers. Answers how many it put in place. */
  seedServers(_servers: readonly SeededServer[]): Promise<number> {
    return Promise.resolve(0);
  }
}
