import { ModCatalog, Tokens, definePlugin } from '../../kernel/api';
import { modrinthConfig } from './config';
import { ModrinthConnection } from './connection';
import { ModrinthCatalog } from './provider';
import { catalogRoutes } from './routes';

export default definePlugin({
  name: 'modrinth',
  version: '1.0.0',
  kernelApi: '2',
  consumes: [],
  description: 'The mod catalog (ModCatalog) on the Modrinth v2 API, cached in Redis with ETags, and GET /api/mods/search',
  config: modrinthConfig,
  register(ctx) {
    const connection = new ModrinthConnection(ctx.config);
    ctx.provide(ModrinthConnection, () => connection);
    ctx.provide(ModCatalog, () => new ModrinthCatalog(() => connection.client));
    ctx.routes((r) => catalogRoutes(r, ctx));
  },
  async start(ctx) {
    await ctx.resolve(ModrinthConnection).open(ctx.logger, ctx.resolve(Tokens.Redis), ctx.resolve(Tokens.Simulators), `${ctx.resolve(Tokens.RedisPrefix)}:modrinth`);
  },
  async stop(ctx) {
    await ctx.resolve(ModrinthConnection).close();
  },
});
