import { Notifier, Tokens, definePlugin } from '../../kernel/api';
import { discordConfig } from './config';
import { DiscordConnection } from './connection';
import { DiscordNotifier } from './notifier';

export default definePlugin({
  name: 'discord',
  version: '1.0.0',
  kernelApi: '2',
  consumes: [],
  description: 'Posts operator notices (ops alerts, support tickets) to Discord webhooks, or to a loopback simulator',
  config: discordConfig,
  register(ctx) {
    const connection = new DiscordConnection(ctx.config);
    ctx.provide(DiscordConnection, () => connection);
    ctx.provide(Notifier, () => new DiscordNotifier(ctx.config, () => connection.webhooks()));
  },
  async start(ctx) {
    await ctx.resolve(DiscordConnection).open(ctx.resolve(Tokens.Simulators));
  },
  async stop(ctx) {
    await ctx.resolve(DiscordConnection).close();
  },
});
