import { HostingProvider, Tokens, definePlugin } from '../../kernel/api';
import { proxmoxConfig } from './config';
import { ProxmoxConnection } from './connection';
import { ProxmoxHosting } from './provider';

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
  },
  async start(ctx) {
    await ctx.resolve(ProxmoxConnection).open(ctx.logger, ctx.resolve(Tokens.Simulators));
  },
  async stop(ctx) {
    await ctx.resolve(ProxmoxConnection).close();
  },
});
