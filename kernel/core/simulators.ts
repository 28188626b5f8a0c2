import path from 'node:path';
import type { SimulatorDirectory } from '../api';

/** One per kernel: simulators of two kernels in one process (tests) never find each other. */
export class KernelSimulators implements SimulatorDirectory {
  private readonly urls = new Map<string, string>();

  /** `stateRoot` '' keeps every simulator's state in memory. */
  constructor(private readonly stateRoot: string) {}

  stateDir(name: string): string | undefined {
    return this.stateRoot ? path.resolve(this.stateRoot, name) : undefined;
  }

  publish(name: string, url: string): void {
    this.urls.set(name, url);
  }

  lookup(name: string): string | undefined {
    return this.urls.get(name);
  }
}
