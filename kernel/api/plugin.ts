import type { DependencyContainer } from 'tsyringe';
import type { Logger } from 'pino';
import type { ZodType, z } from 'zod';
import type { KernelHooks } from './hooks';
import type { ApiRouter } from './http';
import type { JobHandler, QueueName } from './services';
import type { Token } from './tokens';
import type { HostPattern, HostRouteHandler, StatusSectionReader, UpgradeHandler, UpgradeMatch, UpgradeOptions } from './upgrades';

type Ctor<T> = new (...args: any[]) => T;
/** An abstract port class (HostingProvider …) or a typed token. */
export type PortRef<T> = (abstract new (...args: any[]) => T) | Token<T>;
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
  jobs: { define<D>(name: string, queue: QueueName, handler: JobHandler<D>): void };
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
  /** Adds `name` to GET /api/servers/:id/status; a name is owned by one plugin and may not shadow the kernel's fields. */
  statusSection(name: string, reader: StatusSectionReader): void;
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
