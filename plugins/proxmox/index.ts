import { DriftDetector, HostingProvider, SimulatorSeeder, Tokens, definePlugin } from '../../kernel/api';
import { ContainerDrift, ContainerDriftDetector } from './drift';
import { proxmoxConfig } from './config';
import { ProxmoxConnection } from './connection';
import { ProxmoxHosting } from './provider';
import { ProxmoxSeeder } from './seeder';

export default definePlugin({
  name: 'proxmox',
  version: '1.0.0',
  kernelApi: '2',
  consumes: [],
  description: 'Hosts containers as LXC guests on Proxmox VE, or on a loopback simulator of its API',
  config: proxmoxConfig,
  register(ctx) {
    // One connection per kernel, shared by the provider and start/stop (and reachable by end-to-end tests).
    const connection = new ProxmoxConnection(ctx.config);
    ctx.provide(ProxmoxConnection, () => connection);
    ctx.provide(HostingProvider, () => new ProxmoxHosting(ctx.config, connection));
    ctx.provide(DriftDetector, () => new ContainerDriftDetector(ctx.config, () => connection.client));
    if (ctx.config.simulate) ctx.provide(SimulatorSeeder, () => new ProxmoxSeeder(ctx.config, connection));
    // The one repair of a container the controller may run, once an operator approved it: start it again.
    ctx.hooks.onRepair.tapPromise(ctx.name, async (drift) => {
      if (drift.kind !== ContainerDrift.stopped) return undefined;
      const instance = drift.instanceId ? await ctx.resolve(Tokens.Instances).get(drift.instanceId) : null;
      if (!instance || instance.vmid === null || instance.node === null || instance.state !== 'running') {
        return { action: 'start_container', ok: false, detail: { reason: 'not_running_in_database', state: instance?.state ?? null } };
      }
      await ctx.resolve(HostingProvider).start({ vmid: instance.vmid, node: instance.node });
      return { action: 'start_container', ok: true };
    });
  },
  async start(ctx) {
    await ctx.resolve(ProxmoxConnection).open(ctx.logger, ctx.resolve(Tokens.Simulators));
  },
  async stop(ctx) {
    await ctx.resolve(ProxmoxConnection).close();
  },
});
