import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { API_SIMULATOR_NAME, BootError } from '../api';
import type { SimulatorDirectory } from '../api';
import { processAlive } from './process-guards';

/** The process that runs the simulators for a fleet of processes. */
export const SIMULATORS_ROLE = 'simulators';
const READY = '.ready';
const OWNER = '.owner';
/** How often the simulators process reads where the fleet's API listens (for simulators that call back, e.g. with webhooks). */
const API_REFRESH_MS = 2000;

export interface SharedSimulators {
  redis: () => Redis;
  /** The Redis hash where the host publishes each simulator's URL. */
  key: string;
  /** This process is the `simulators` role: it publishes. Otherwise (`mode: remote`) it reads. */
  host: boolean;
  remote: boolean;
}

/**
 * One per kernel: simulators of two kernels in one process (tests) never find each other. With
 * `shared`, the `simulators` process publishes its simulators' URLs in Redis and the processes
 * in `simulators.mode: remote` read them before their plugins start.
 */
export class KernelSimulators implements SimulatorDirectory {
  private readonly urls = new Map<string, string>();
  private claimed?: string;
  /** Host: where an API process of the fleet said it listens, read from Redis every API_REFRESH_MS. */
  private fleetApi?: string;
  private apiRefresh?: NodeJS.Timeout;

  /** `stateRoot` '' keeps every simulator's state in memory. */
  constructor(private readonly stateRoot: string, private readonly shared?: SharedSimulators) {}

  get remote(): boolean {
    return this.shared?.remote ?? false;
  }

  /** Asked by a simulator that keeps state: the first ask claims the world for this process (see claim). */
  stateDir(name: string): string | undefined {
    if (!this.stateRoot) return undefined;
    this.claim();
    return path.resolve(this.stateRoot, name);
  }

  publish(name: string, url: string): void {
    this.urls.set(name, url);
    // A process of the fleet that serves the API tells the simulators process, whose simulators call it back.
    if (name === API_SIMULATOR_NAME && this.shared?.remote) {
      void this.shared.redis().set(this.apiKey, url).catch(() => undefined);
    }
  }

  lookup(name: string): string | undefined {
    return this.urls.get(name) ?? (name === API_SIMULATOR_NAME ? this.fleetApi : undefined);
  }

  private get apiKey(): string {
    return `${this.shared!.key}:${API_SIMULATOR_NAME}`;
  }

  require(name: string): string {
    const url = this.urls.get(name);
    if (url) return url;
    throw new BootError(this.remote
      ? `the ${name} simulator is not published by the simulators process (is \`zpack simulators\` running with the same plugins and redis.prefix?)`
      : `the ${name} simulator is not running in this process`, 'simulator_missing');
  }

  /**
   * One process at a time runs a kept simulated world: two writing the same state files would
   * corrupt it (an `import --sample` beside a running `npm start`). The owner's pid is kept in
   * `<stateDir>/.owner`; a file left by a process that is gone is taken over.
   */
  claim(): void {
    if (!this.stateRoot || this.remote || this.claimed) return;
    mkdirSync(this.stateRoot, { recursive: true });
    const file = path.join(this.stateRoot, OWNER);
    let holder: number | undefined;
    try {
      holder = Number(readFileSync(file, 'utf8').trim()) || undefined;
    } catch {
      holder = undefined;
    }
    if (holder && holder !== process.pid && processAlive(holder)) {
      throw new BootError(`the simulated world in ${this.stateRoot} is in use by process ${holder} (a running \`npm start\`?): stop it first, `
        + `or run the simulators as their own process (\`zpack simulators\`) and point this one at them with simulators.mode: remote`, 'simulators_in_use');
    }
    writeFileSync(file, String(process.pid));
    this.claimed = file;
  }

  /** Host: every simulator listens now; publish them all at once, then say ready. */
  async announce(): Promise<void> {
    if (!this.shared?.host) return;
    const redis = this.shared.redis();
    await redis.multi().del(this.shared.key).hset(this.shared.key, { ...Object.fromEntries(this.urls), [READY]: new Date().toISOString() }).exec();
    const readApi = async () => {
      this.fleetApi = (await redis.get(this.apiKey).catch(() => null)) ?? undefined;
    };
    await readApi();
    this.apiRefresh = setInterval(() => void readApi(), API_REFRESH_MS);
    this.apiRefresh.unref();
  }

  /** Host stopping: the URLs go with it, so no process finds a dead simulator. */
  async withdraw(): Promise<void> {
    clearInterval(this.apiRefresh);
    if (this.claimed) {
      const file = this.claimed;
      this.claimed = undefined;
      try {
        if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true });
      } catch {
        // Already gone.
      }
    }
    if (this.shared?.host) await this.shared.redis().del(this.shared.key).catch(() => undefined);
  }

  /** Remote: waits for the host's announcement, then knows every URL. */
  async load(timeoutMs: number): Promise<void> {
    if (!this.shared?.remote) return;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const all = await this.shared.redis().hgetall(this.shared.key);
      if (all[READY]) {
        for (const [name, url] of Object.entries(all)) if (name !== READY) this.urls.set(name, url);
        return;
      }
      if (Date.now() > deadline) {
        throw new BootError(`simulators.mode is remote but no \`zpack simulators\` process announced its simulators within ${timeoutMs / 1000} s`, 'simulators_unavailable');
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
