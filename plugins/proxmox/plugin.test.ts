import { expect } from 'chai';
import pino from 'pino';
import { container as rootContainer, instanceCachingFactory } from 'tsyringe';
import { HostingProvider } from '../../kernel/api';
import type { PluginContext, PluginRuntime, PortRef } from '../../kernel/api';
import type { ProxmoxConfig } from './config';
import { ProxmoxConnection } from './connection';
import plugin from './index';

/** Just enough of the kernel's plugin host to register, start and stop the plugin. */
function host(options: unknown) {
  const container = rootContainer.createChildContainer();
  const config = plugin.config.parse(options) as ProxmoxConfig;
  const runtime: PluginRuntime<ProxmoxConfig> = {
    name: 'proxmox', config, logger: pino({ level: 'silent' }), container,
    resolve: <T>(token: PortRef<T>) => container.resolve<T>(token as never),
    resolveAll: <T>(token: PortRef<T>) => container.resolveAll<T>(token as never),
  };
  const provide = <T>(port: PortRef<T>, impl: unknown) =>
    container.register(port as never, { useFactory: instanceCachingFactory(() => (impl as (rt: typeof runtime) => T)(runtime)) });
  plugin.register({ ...runtime, provide } as unknown as PluginContext<ProxmoxConfig>);
  return runtime;
}

describe('proxmox plugin', () => {
  it('serves HostingProvider from its own simulator in simulate mode, and stops it on stop', async () => {
    const runtime = host({ simulate: true, simulator: { port: 0, taskMs: 5 }, taskPollMs: 10 });
    await plugin.start!(runtime);
    const { simulator } = runtime.resolve(ProxmoxConnection);
    const hosting = runtime.resolve(HostingProvider);
    const ref = await hosting.create({
      vmid: 3001, node: 'pve1', operationId: '5d2b7c1a-0f3e-4a9b-8c6d-2e1f0a9b8c7d', instanceId: '1c9d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f', instanceName: 'Survival',
      template: 'vanilla', memoryMb: 1024, cores: 1, diskGb: 4,
    });
    expect(simulator!.containers().map((c) => [c.vmid, c.node])).to.deep.equal([[3001, 'pve1']]);
    expect(await hosting.status(ref)).to.equal('stopped');

    await plugin.stop!(runtime);
    expect(() => runtime.resolve(ProxmoxConnection).client).to.throw(/has not started/);
  });
});
