import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { BootError } from './errors';

/**
 * Where a plugin's loopback simulator listens in simulate mode, the same keys for every plugin;
 * `.extend` it with the simulator's own settings.
 */
export const simulatorListener = () => z.object({
  host: z.string().default('127.0.0.1'),
  /** 0 picks a free port. */
  port: z.number().int().min(0).max(65535).default(0),
  /** Added before every simulated answer. */
  latencyMs: z.number().int().min(0).default(0),
});

/**
 * What the loopback simulators of one kernel (plugins with `simulate: true`) share: where each
 * keeps its state, and where each listens. Ports are picked at start, so a plugin that needs
 * another's simulator asks here when it needs it, never a setting kept in step by hand.
 */
export interface SimulatorDirectory {
  /**
   * True when another process (`zpack simulators`) runs the simulators and this one only uses
   * them (`simulators.mode: remote`): a plugin in simulate mode then starts no simulator of its
   * own and points its client at `lookup(<its name>)`, so every process of a fleet sees one world.
   */
  readonly remote: boolean;
  /** The folder where the named simulator keeps its state across restarts; undefined keeps it in memory. */
  stateDir(name: string): string | undefined;
  /** Announces where a simulator listens, for the other plugins. */
  publish(name: string, url: string): void;
  /** The URL published under `name`, or undefined when no such simulator runs in this kernel (or its host). */
  lookup(name: string): string | undefined;
  /** lookup() for a simulator that must be there: a clear boot error naming it otherwise. */
  require(name: string): string;
}

/** The name under which the kernel publishes its own HTTP API once it listens (for simulators that call back). */
export const API_SIMULATOR_NAME = 'api';

/**
 * A simulator's state as one JSON file, so the embedded default finds its simulated world as it
 * left it. Rewritten whole (temporary file, then rename) and synchronously whenever it changed, so
 * a process killed a moment later has lost nothing. Without a file, nothing is kept.
 */
export class SimulatorStateFile<T> {
  private written?: string;

  constructor(readonly file: string | undefined) {}

  /** The saved state, or undefined when there is none yet. */
  load(): T | undefined {
    if (!this.file) return undefined;
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new BootError(`simulator state ${this.file} cannot be read (${(err as Error).message})`, 'simulator_state_unreadable');
    }
    try {
      this.written = text;
      return JSON.parse(text) as T;
    } catch {
      throw new BootError(`simulator state ${this.file} is not valid JSON: remove it to start that simulator empty`, 'simulator_state_unreadable');
    }
  }

  /** Writes the state unless it is what the file already holds. */
  save(state: T): void {
    if (!this.file) return;
    const text = JSON.stringify(state);
    if (text === this.written) return;
    mkdirSync(path.dirname(this.file), { recursive: true });
    const partial = `${this.file}.partial`;
    writeFileSync(partial, text);
    renameSync(partial, this.file);
    this.written = text;
  }
}
