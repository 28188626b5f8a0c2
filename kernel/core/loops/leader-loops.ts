import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { DataSource } from 'typeorm';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { BootError } from '../../api';
import type { LoopFn, LoopOptions } from '../../api';
import { LeaderLoop, type LeaderLoopSpec } from './leader-loop';

/** The loops plugins registered; the roles that run loops start one LeaderLoop of each. */
export class LeaderLoops {
  private readonly specs = new Map<string, LeaderLoopSpec>();
  private running: LeaderLoop[] = [];
  private readonly owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

  constructor(private readonly prefix: string, private readonly defaultLeaseMs: number, private readonly logger: Logger) {}

  define(plugin: string, name: string, options: LoopOptions, fn: LoopFn): void {
    const full = `${plugin}.${name}`;
    if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new BootError(`plugin "${plugin}": loop name "${name}" must be lower-case letters, digits and dashes`, 'invalid_loop');
    if (this.specs.has(full)) throw new BootError(`loop ${full} is defined twice`, 'loop_defined_twice');
    if (options.leader !== true) throw new BootError(`loop ${full}: only leader-elected loops exist (leader: true)`, 'invalid_loop');
    if (!(options.intervalMs > 0)) throw new BootError(`loop ${full}: intervalMs must be positive`, 'invalid_loop');
    this.specs.set(full, { name: full, intervalMs: options.intervalMs, leaseMs: options.leaseMs ?? this.defaultLeaseMs, fn });
  }

  names(): string[] {
    return [...this.specs.keys()];
  }

  start(redis: Redis, ds: DataSource): void {
    for (const spec of this.specs.values()) {
      const keys = { lease: `${this.prefix}:loop:${spec.name}:lease`, counter: `${this.prefix}:loop:${spec.name}:fence` };
      const loop = new LeaderLoop(spec, redis, ds, keys, this.owner, this.logger);
      loop.start();
      this.running.push(loop);
    }
  }

  /** Loops this process leads right now. */
  leading(): string[] {
    return this.running.filter((l) => l.leading).map((l) => l.name);
  }

  async stop(graceMs = 10_000): Promise<void> {
    await Promise.all(this.running.splice(0).map((l) => l.stop(graceMs)));
  }
}
