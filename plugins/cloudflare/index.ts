import { DriftDetector, EdgeProvider, InstanceType, SimulatorSeeder, Tokens, definePlugin, instanceTypeOf } from '../../kernel/api';
import { EdgeDriftDetector } from './drift';
import { cloudflareConfig } from './config';
import { CloudflareConnection } from './connection';
import { edgeSectionSchema, tapEdgeHooks } from './hooks';
import { CloudflareSection1700000100000 } from './migrations/1700000100000-cloudflare-section';
import { CloudflareEdge, type SrvServiceOf } from './provider';
import { CloudflareSeeder } from './seeder';

export default definePlugin({
  name: 'cloudflare',
  version: '1.0.0',
  kernelApi: '2',
  consumes: [],
  description: 'Publishes an SRV record per instance whose type names an SRV service on Cloudflare DNS, pointing players at the proxy',
  // Reads each type's capabilities through the InstanceType port: no dependency on the plugins defining them.
  dependsOn: [],
  config: cloudflareConfig,
  register(ctx) {
    // One connection per kernel, shared by the provider and start/stop (and reachable by end-to-end tests).
    const connection = new CloudflareConnection(ctx.config);
    ctx.provide(CloudflareConnection, () => connection);
    const srvServiceOf: SrvServiceOf = (instance) => instanceTypeOf(ctx.resolveAll(InstanceType), instance)?.capabilities.connect.srvService;
    ctx.provide(EdgeProvider, () => new CloudflareEdge(ctx.config, connection, srvServiceOf, ctx.name));
    tapEdgeHooks(ctx, srvServiceOf);
    if (ctx.config.simulate) ctx.provide(SimulatorSeeder, () => new CloudflareSeeder(() => ctx.resolve(EdgeProvider), srvServiceOf));
    ctx.provide(DriftDetector, () => new EdgeDriftDetector(ctx.config, () => ctx.resolve(EdgeProvider), srvServiceOf));
    // The status shows this plugin's own payload section as `edge`; never published reads as such,
    // so clients see one shape whether or not a record was ever made.
    ctx.statusSection('edge', async (instance) => instance.payload[ctx.name] ?? { published: false, record: null }, edgeSectionSchema);
    ctx.migrations(CloudflareSection1700000100000);
  },
  async start(ctx) {
    await ctx.resolve(CloudflareConnection).open(ctx.logger, ctx.resolve(Tokens.Simulators));
  },
  async stop(ctx) {
    await ctx.resolve(CloudflareConnection).close();
  },
});
