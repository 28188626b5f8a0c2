import { instanceCachingFactory, type DependencyContainer } from 'tsyringe';
import type { Logger } from 'pino';
import { BootError, Tokens } from '../api';
import type { Implementation, KernelHooks, PluginContext, PluginRuntime, PortRef } from '../api';
import type { LoadedPlugin } from './plugin-loader';
import { KernelDirectoryToken, type KernelInstanceDirectory } from './operations/directory';
import type { KernelQueues } from './queues';
import type { KernelRouter } from './http/router';

const isClass = (f: Function): boolean => /^class[\s{]/.test(Function.prototype.toString.call(f));
const isMultiple = (port: PortRef<unknown>): boolean => typeof port === 'function' && (port as any).multiple === true;
const portName = (port: PortRef<unknown>): string =>
  typeof port === 'function' ? ((port as any).port ?? port.name) : String(port.description);

export interface PluginContributions {
  entities: Function[];
  migrations: Function[];
}

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
      resolve: (t) => this.container.resolve(t as any),
      resolveAll: (t) => (this.container.isRegistered(t as any, true) ? this.container.resolveAll(t as any) : []),
    };
  }

  register(hooks: KernelHooks, router: KernelRouter, queues: KernelQueues, out: PluginContributions): void {
    const name = this.plugin.definition.name;
    const ctx: PluginContext<unknown> = {
      ...this.runtime,
      hooks,
      provide: (port, impl) => this.provide(port, impl),
      routes: (define) => define(router.for(name)),
      jobs: { define: (job, queue, handler) => queues.define(job, queue, handler) },
      entities: (...e) => out.entities.push(...e),
      migrations: (...m) => out.migrations.push(...m),
    };
    this.plugin.definition.register(ctx);
  }

  private provide<T>(port: PortRef<T>, impl: Implementation<T>): void {
    const name = this.plugin.definition.name;
    const key = portName(port);
    if (!isMultiple(port)) {
      const prior = this.providedBy.get(key);
      if (prior) throw new BootError(`port ${key} is provided by both "${prior}" and "${name}"; enable only one`);
      this.providedBy.set(key, name);
    }
    const make = (): T => (isClass(impl as Function) ? this.container.resolve(impl as any) : (impl as (c: PluginRuntime<unknown>) => T)(this.runtime));
    this.kernelContainer.register(port as any, { useFactory: instanceCachingFactory(make) });
  }
}
