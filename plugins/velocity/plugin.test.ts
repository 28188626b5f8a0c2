import { expect } from 'chai';
import pino from 'pino';
import { container as rootContainer, instanceCachingFactory } from 'tsyringe';
import { ProxyRegistry } from '../../kernel/api';
import type { PluginContext, PluginRuntime, PortRef } from '../../kernel/api';
import type { VelocityConfig } from './config';
import { VelocityConnection } from './connection';
import plugin from './index';

/** Just enough of the kernel's plugin host to register, start and stop the plugin (no hooks or routes are exercised). */
function host(options: unknown) {
  const container = rootContainer.createChildContainer();
  const config = plugin.config.parse(options) as VelocityConfig;
  const runtime: PluginRuntime<VelocityConfig> = {
    name: 'velocity', config, logger: pino({ level: 'silent' }), container,
    resolve: <T>(token: PortRef<T>) => container.resolve<T>(token as never),
    resolveAll: <T>(token: PortRef<T>) => container.resolveAll<T>(token as never),
  };
  const provide = <T>(port: PortRef<T>, impl: unknown) =>
    container.register(port as never, { useFactory: instanceCachingFactory(() => (impl as (rt: typeof runtime) => T)(runtime)) });
  const hooks = new Proxy({}, { get: () => ({ tapPromise: () => undefined }) });
  plugin.register({ ...runtime, provide, hooks, routes: () => undefined, migrations: () => undefined } as unknown as PluginContext<VelocityConfig>);
  return runtime;
}

describe('velocity plugin', () => {
  it('serves ProxyRegistry from its own simulator in simulate mode, and stops it on stop', async () => {
    const runtime = host({ simulate: true, simulator: { port: 0 } });
    await plugin.start!(runtime);
    const { simulator } = runtime.resolve(VelocityConnection);
    const proxy = runtime.resolve(ProxyRegistry);
    await proxy.register({ name: 'zp-5001', address: '127.0.0.1', port: 30001 });
    expect(simulator!.backends()).to.deep.equal([{ name: 'zp-5001', address: '127.0.0.1', port: 30001 }]);

    await plugin.stop!(runtime);
    expect(() => runtime.resolve(VelocityConnection).client).to.throw(/has not started/);
  });
});
