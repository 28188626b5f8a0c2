import { EdgeProvider, definePlugin } from '../../kernel/api';
import { cloudflareConfig } from './config';
import { CloudflareConnection } from './connection';
import { tapEdgeHooks } from './hooks';
import { CloudflareSection1700000100000 } from './migrations/1700000100000-cloudflare-section';
import { CloudflareEdge } from './provider';

export default definePlugin({
  name: 'cloudflare',
  version: '1.0.0',
  description: 'Publishes an SRV record per game instance on Cloudflare DNS, pointing players at the Velocity proxy',
  // Publishes any game instance, whichever plugin defines its type: no dependency on minecraft.
  dependsOn: [],
  config: cloudflareConfig,
  register(ctx) {
    // One connection per kernel, shared by the provider and start/stop (and reachable by end-to-end tests).
    const connection = new CloudflareConnection(ctx.config);
    ctx.provide(CloudflareConnection, () => connection);
    ctx.provide(EdgeProvider, () => new CloudflareEdge(ctx.config, connection));
    tapEdgeHooks(ctx);
    ctx.migrations(CloudflareSection1700000100000);
  },
  async start(ctx) {
    await ctx.resolve(CloudflareConnection).open(ctx.logger);
  },
  async stop(ctx) {
    await ctx.resolve(CloudflareConnection).close();
  },
});
