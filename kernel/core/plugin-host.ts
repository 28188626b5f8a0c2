import { instanceCachingFactory, type DependencyContainer } from 'tsyringe';
import type { Logger } from 'pino';
import { BootError, Tokens, isMultiple, portKey, portName } from '../api';
import type { Ctor, Implementation, KernelHooks, PluginContext, PluginRuntime, PortRef } from '../api';
import type { LoadedPlugin } from './plugin-loader';
import { KernelDirectoryToken, type KernelInstanceDirectory } from './operations/directory';
import type { KernelQueues } from './queues';
import type { KernelRouter } from './http/router';
import type { HostRoutes } from './http/host-routes';
import type { StatusSections } from './status-sections';
import type { UpgradeDispatcher } from './upgrades/dispatcher';
import type { CommandRegistry } from './commands';
import type { HealthChecks } from './health-checks';
import type { LeaderLoops } from './loops/leader-loops';
import type { RoleRegistry } from './roles';
import type { OperationRegistry } from './operations/plugin-operations';

const isClass = <T>(impl: Implementation<T>): impl is Ctor<T> => /^class[\s{]/.test(Function.prototype.toString.call(impl));

export interface PluginContributions {
  entities: Function[];
  migrations: Function[];
}

/** Where upgrades, host routes and status sections that plugins declare are kept. */
export interface HttpExtensions {
  upgrades: UpgradeDispatcher;
  hostRoutes: HostRoutes;
  statusSections: StatusSections;
}

/** The registries behind a plugin's process extension points. */
export interface ProcessExtensions {
  roles: RoleRegistry;
  loops: LeaderLoops;
  commands: CommandRegistry;
  health: HealthChecks;
  operations: OperationRegistry;
}

/** Whether a port is bound in the kernel's container (by a plugin or a test override). */
export const isBound = (container: DependencyContainer, port: PortRef<unknown>): boolean => container.isRegistered(portKey(port), true);

/**
 * Wires one plugin: its own child container (holding its validated options), its routes,
 * jobs, entities, migrations and the ports it provides on the kernel container.
 */
export class PluginHost {
  readonly container: DependencyContainer;
  readonly runtime: PluginRuntime<unknown>;

  constructor(
    readonly plugin: LoadedPlugin,
    private readonly kernelContainer: DependencyContainer,
    private readonly providedBy: Map<string, string>,
    logger: Logger,
  ) {
    this.container = kernelContainer.createChildContainer();
    this.container.register(Tokens.PluginConfig, { useValue: plugin.options });
    const name = plugin.definition.name;
    // The directory this plugin resolves writes only its own payload section.
    this.container.register(Tokens.Instances, {
      useFactory: instanceCachingFactory(() => kernelContainer.resolve<KernelInstanceDirectory>(KernelDirectoryToken).forPlugin(name)),
    });
    this.runtime = {
      name,
      config: plugin.options,
      logger: logger.child({ plugin: name }),
      container: this.container,
      resolve: (t) => this.container.resolve(portKey(t)),
      resolveAll: (t) => (this.container.isRegistered(portKey(t), true) ? this.container.resolveAll(portKey(t)) : []),
    };
  }

  register(hooks: KernelHooks, router: KernelRouter, queues: KernelQueues, out: PluginContributions, http: HttpExtensions, extensions: ProcessExtensions): void {
    const name = this.plugin.definition.name;
    const ctx: PluginContext<unknown> = {
      ...this.runtime,
      hooks,
      provide: (port, impl) => this.provide(port, impl),
      routes: (define) => define(router.for(name)),
      jobs: { define: (job, queue, handler) => queues.define(job, queue, handler) },
      operations: { define: (operation, definition) => extensions.operations.define(name, operation, definition) },
      entities: (...e) => out.entities.push(...e),
      migrations: (...m) => out.migrations.push(...m),
      // Upgrades, host routes and status sections.
      upgrade: (match, handler, options) => http.upgrades.register(name, match, handler, options),
      hostRoutes: (host, handler) => http.hostRoutes.add(name, host, handler),
      pathRoutes: (prefix, handler) => http.hostRoutes.addPrefix(name, prefix, handler),
      rawRoutes: (match, handler) => http.hostRoutes.addRaw(name, match, handler),
      statusSection: (section, reader, schema) => http.statusSections.add(name, section, reader, schema),
      // Process extension points.
      queues: { declare: (queue, options) => queues.declare(name, queue, options) },
      roles: { define: (role, spec) => extensions.roles.define(name, role, spec) },
      loop: (loop, options, fn) => extensions.loops.define(name, loop, options, fn),
      cli: (command, spec) => extensions.commands.define({ name: command, plugin: name, command: spec, runtime: this.runtime }),
      health: (check, fn) => extensions.health.define(name, check, fn),
    };
    this.plugin.definition.register(ctx);
  }

  /** A required port this plugin consumes that nothing binds stops boot, naming both. */
  checkConsumes(): void {
    const name = this.plugin.definition.name;
    for (const need of this.plugin.definition.consumes ?? []) {
      if (need.optional || isBound(this.kernelContainer, need.port)) continue;
      const port = portName(need.port);
      throw new BootError(`plugin "${name}" consumes ${port}, which no enabled plugin provides (enable one, or mark it optional)`, 'port_unbound');
    }
  }

  private provide<T>(port: PortRef<T>, impl: Implementation<T>): void {
    const name = this.plugin.definition.name;
    const key = portName(port);
    if (!isMultiple(port)) {
      const prior = this.providedBy.get(key);
      if (prior) throw new BootError(`port ${key} is provided by both "${prior}" and "${name}"; enable only one`, 'port_provided_twice');
      this.providedBy.set(key, name);
    }
    const make = (): T => (isClass(impl) ? this.container.resolve(impl) : impl(this.runtime));
    this.kernelContainer.register(portKey(port), { useFactory: instanceCachingFactory(make) });
  }
}
