import type { QueueRef } from './queues';

/**
 * What one process role runs: `zpack <role>`, `ZPACK_ROLE` or `role:` in config picks it, and
 * boot refuses a name no one registered. The kernel registers `api`, `provision-worker`,
 * `repair-worker`, `billing-worker`, `controller` and `all` (which runs every queue, every loop
 * and HTTP); a plugin adds its own with `ctx.roles.define`.
 */
export interface RoleSpec {
  /** One line for `zpack help`. */
  summary?: string;
  /** Queues whose jobs this role works. */
  queues?: QueueRef[];
  /** Runs the leader-elected loops (`ctx.loop`); only the elected process of the fleet ticks each one. */
  loops?: boolean;
  /** Serves the HTTP API (and WebSocket upgrades). */
  http?: boolean;
}
