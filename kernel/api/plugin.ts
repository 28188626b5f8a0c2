import type { DependencyContainer } from 'tsyringe';
import type { Logger } from 'pino';
import type { ZodType, z } from 'zod';
import type { KernelHooks } from './hooks';
import type { ApiRouter } from './http';
import type { HostPattern, HostRouteHandler, RawRouteHandler, RawRouteMatch, StatusSectionReader, UpgradeHandler, UpgradeMatch, UpgradeOptions } from './upgrades';
import type { CliCommand, HealthCheck } from './commands';
import type { LoopFn, LoopOptions } from './loops';
import type { Ctor, PortNeed, PortRef } from './ports';
import type { QueueOptions, QueueRef } from './queues';
import type { RoleSpec } from './roles';
import type { JobHandler } from './services';
import type { OperationDefinition } from './operations';

export type Implementation<T> = Ctor<T> | ((ctx: PluginRuntime<unknown>) => T);

/** Given to `register`: synchronous wiring only. */
export interface PluginContext<C> {
  readonly name: string;
  readonly config: C;
  readonly logger: Logger;
  readonly hooks: KernelHooks;
  /** Binds a port to this plugin's implementation. Ports with many implementations (InstanceType, Notifier) accumulate. */
  provide<T>(port: PortRef<T>, impl: Implementation<T>): void;
  routes(define: (router: ApiRouter) => void): void;
  /** Defines the job `name` on a queue (a KernelQueue ref, or one this plugin declared). */
  jobs: { define<D>(name: string, queue: QueueRef, handler: JobHandler<D>): void };
  /**
   * Defines the operation `<plugin>.<name>` on a server, started with `Tokens.Operations` and run
   * by the provisioning workers phase by phase (see OperationDefinition).
   */
  operations: { define<I>(name: string, definition: OperationDefinition<I>): void };
  entities(...entities: Function[]): void;
  migrations(...migrations: Function[]): void;
  /** Resolves a kernel service or port lazily (call inside handlers, not during register). */
  resolve<T>(token: PortRef<T>): T;
  resolveAll<T>(token: PortRef<T>): T[];

  // Upgrades, host routes and status sections.
  /** Takes the WebSocket upgrades that match; one the handler refuses never gets its 101. Duplicates fail boot. */
  upgrade(match: UpgradeMatch, handler: UpgradeHandler, options?: UpgradeOptions): void;
  /** Serves every plain HTTP request whose Host matches (an IDE proxy's hostnames), before the API routes. */
  hostRoutes(host: HostPattern, handler: HostRouteHandler): void;
  /**
   * Serves every plain HTTP request whose path is `prefix` or under it (a proxy's compatibility
   * path), any method, before the API routes and outside the API document. Params: `{ rest }`, the path after it.
   */
  pathRoutes(prefix: string, handler: HostRouteHandler): void;
  /**
   * Like hostRoutes / pathRoutes, but taken before koa with the raw request and response (a
   * streaming proxy that must not pay for the API's middleware). Tried before every other route.
   */
  rawRoutes(match: RawRouteMatch, handler: RawRouteHandler): void;
  /**
   * Adds `name` to GET /api/servers/:id/status; a name is owned by one plugin and may not shadow the
   * kernel's fields. `schema` describes the section in the OpenAPI document (nullable, since a failed
   * read shows as null); without one a generated client sees it as unknown.
   */
  statusSection(name: string, reader: StatusSectionReader, schema?: ZodType): void;

  // Process extension points: queues, roles, leader loops, commands, readiness.
  /** Declares this plugin's own queue, really named `<plugin>.<name>`; only roles that list it (and `all`) work it. */
  queues: { declare(name: string, options?: QueueOptions): QueueRef };
  /** Registers a process role (`zpack <name>`); a name already registered stops boot. */
  roles: { define(name: string, spec: RoleSpec): void };
  /**
   * A leader-elected periodic loop `<plugin>.<name>`, run by roles with `loops` (`controller`,
   * `all`): one process of the fleet ticks it; the tick's fence refuses the writes of a deposed leader.
   */
  loop(name: string, options: LoopOptions, fn: LoopFn): void;
  /** A command `zpack <name> [args…]`. */
  cli(name: string, command: CliCommand<C>): void;
  /** A /readyz check named `<plugin>.<name>`. */
  health(name: string, check: HealthCheck): void;
}

/** Given to `start` and `stop`, and to factory implementations. */
export interface PluginRuntime<C> {
  readonly name: string;
  readonly config: C;
  readonly logger: Logger;
  readonly container: DependencyContainer;
  resolve<T>(token: PortRef<T>): T;
  resolveAll<T>(token: PortRef<T>): T[];
}

export interface PluginDefinition<S extends ZodType = ZodType> {
  name: string;
  version: string;
  description?: string;
  dependsOn?: string[];
  /** The kernel API written against; must equal KERNEL_API_VERSION (`kernel_api_mismatch` otherwise). */
  kernelApi: string;
  /** Ports this plugin resolves; a required one no enabled plugin provides stops boot (`port_unbound`). */
  consumes?: PortNeed[];
  /** Options schema; a bad option stops boot naming the plugin and the key path. */
  config: S;
  register(ctx: PluginContext<z.infer<S>>): void;
  start?(ctx: PluginRuntime<z.infer<S>>): Promise<void>;
  stop?(ctx: PluginRuntime<z.infer<S>>): Promise<void>;
}

export function definePlugin<S extends ZodType>(definition: PluginDefinition<S>): PluginDefinition<S> {
  if (!/^[a-z][a-z0-9-]*$/.test(definition.name)) {
    throw new Error(`plugin name "${definition.name}" must be lower-case letters, digits and dashes`);
  }
  return Object.freeze({ ...definition });
}
