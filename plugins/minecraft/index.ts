import { BillingGate, InstanceAgent, InstanceType, ModCatalog, Tokens, definePlugin } from '../../kernel/api';
import { minecraftConfig } from './config';
import { MinecraftType } from './instance-type';
import { MinecraftMods1700000601000 } from './migrations/1700000601000-minecraft-mods';
import { AgentStaging } from './mods/agent-staging';
import { tapCrashFeedback } from './mods/crash-feedback';
import { InstalledMod } from './mods/installed-mod';
import { Modpacks } from './mods/modpack';
import { defineModOperations } from './mods/operations';
import { modRoutes } from './mods/routes';
import { ModService } from './mods/service';

export default definePlugin({
  name: 'minecraft',
  version: '1.0.0',
  kernelApi: '2',
  // Mods need a catalog (ModCatalog, e.g. the modrinth plugin); without one the server type works and mod routes answer 503.
  consumes: [{ port: ModCatalog, optional: true }, { port: BillingGate, optional: true }],
  description: 'The minecraft game type: options, plan, agent payload, crash classes; mods, plugins and modpacks on its servers',
  config: minecraftConfig,
  register(ctx) {
    const ds = () => ctx.resolve(Tokens.DataSource);
    const mods = new ModService(ctx, ds);
    const modpacks = new Modpacks(ctx, mods, ds);
    const staging = new AgentStaging(() => ctx.resolve(InstanceAgent));
    ctx.provide(InstanceType, () => new MinecraftType(ctx.config, ctx.name, modpacks));
    ctx.entities(InstalledMod);
    ctx.migrations(MinecraftMods1700000601000);
    defineModOperations(ctx, { ds, agent: () => ctx.resolve(InstanceAgent), staging, instances: () => ctx.resolve(Tokens.Instances), plugin: ctx.name });
    ctx.routes((r) => modRoutes(r, ctx, mods, modpacks));
    ctx.hooks.afterProvision.tapPromise(ctx.name, async (instance) => {
      await modpacks.importInstalled(instance).catch((err) => ctx.logger.warn({ err, instanceId: instance.id }, 'modpack files not listed yet; the mod list retries'));
    });
    ctx.hooks.onInstanceReady.tapPromise(ctx.name, async (instance) => {
      if ((instance.payload[ctx.name] as { restartNeeded?: boolean } | undefined)?.restartNeeded) {
        await ctx.resolve(Tokens.Instances).patchSection(instance.id, ctx.name, { restartNeeded: false });
      }
    });
    tapCrashFeedback(ctx);
  },
});
