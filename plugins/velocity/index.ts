import { DriftDetector, EdgeProvider, InstanceType, ProxyRegistry, SimulatorSeeder, Tokens, definePlugin, type InstanceView } from '../../kernel/api';
import { ProxyDriftDetector } from './drift';
import { velocityConfig } from './config';
import { VelocityConnection } from './connection';
import { tapVelocityHooks } from './hooks';
import { VelocityProxy } from './provider';
import { ProxyRegistrations, proxySectionSchema } from './registrations';
import { VelocitySeeder } from './seeder';
import { VelocitySection1700000101000 } from './migrations/1700000101000-velocity-section';
import { velocityRoutes } from './routes';

/** The proxy family Velocity fronts: types whose capabilities say `proxied: 'minecraft'`. */
const PROXY_FAMILY = 'minecraft';

export default definePlugin({
  name: 'velocity',
  version: '1.1.0',
  kernelApi: '2',
  // The edge (when one is enabled) names the host players type: the backend's forced host.
  consumes: [{ port: EdgeProvider, optional: true }],
  description: 'Registers ready game servers with the Velocity proxy through its bridge plugin, or a loopback simulator of it',
  dependsOn: [],
  config: velocityConfig,
  register(ctx) {
    // One connection per kernel, shared by the provider and start/stop (and reachable by end-to-end tests).
    const connection = new VelocityConnection(ctx.config);
    const proxy = new VelocityProxy(connection);
    ctx.provide(VelocityConnection, () => connection);
    ctx.provide(ProxyRegistry, () => proxy);
    const proxiedTypes = () => ctx.resolveAll(InstanceType).filter((t) => t.capabilities.proxied === PROXY_FAMILY).map((t) => t.type);
    const playerHost = (instance: InstanceView) => ctx.resolveAll(EdgeProvider)[0]?.playerAddress(instance)?.host ?? null;
    const registrations = new ProxyRegistrations({
      proxy,
      section: ctx.name,
      directory: () => ctx.resolve(Tokens.Instances),
      clock: () => ctx.resolve(Tokens.Clock),
      logger: ctx.logger,
      concurrency: ctx.config.resyncConcurrency,
      proxiedTypes,
      playerHost,
    });
    tapVelocityHooks(ctx.hooks, registrations);
    ctx.provide(DriftDetector, () => new ProxyDriftDetector(proxy, proxiedTypes));
    if (ctx.config.simulate) ctx.provide(SimulatorSeeder, () => new VelocitySeeder(proxy, proxiedTypes, playerHost));
    ctx.routes((r) => velocityRoutes(r, registrations, ctx.config.proxyToken));
    // The status shows this plugin's own payload section as `proxy`.
    ctx.statusSection('proxy', async (instance) => instance.payload[ctx.name] ?? null, proxySectionSchema);
    ctx.migrations(VelocitySection1700000101000);
  },
  async start(ctx) {
    await ctx.resolve(VelocityConnection).open(ctx.logger, ctx.resolve(Tokens.Simulators));
  },
  async stop(ctx) {
    await ctx.resolve(VelocityConnection).close();
  },
});
