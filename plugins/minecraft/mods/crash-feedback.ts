import { Tokens } from '../../../kernel/api';
import type { PluginContext } from '../../../kernel/api';

/** Crash classes a mod can be blamed for; the mod list offers a fix for them. */
const MOD_CRASHES = new Set(['mod_or_plugin_error', 'missing_dependency']);

/**
 * Keeps the last crash that blames a mod in the plugin's section, so the mod list can mark the
 * mod and offer the fix; any other crash, or a clean start, clears it.
 */
export function tapCrashFeedback(ctx: PluginContext<unknown>): void {
  ctx.hooks.onCrash.tapPromise(ctx.name, async (crash, instance) => {
    if (instance.type !== 'minecraft') return;
    const blames = crash.culprit && crash.classification && MOD_CRASHES.has(crash.classification);
    await ctx.resolve(Tokens.Instances).patchSection(instance.id, ctx.name, {
      crash: blames ? { at: crash.at.toISOString(), classification: crash.classification, culprit: crash.culprit } : null,
    });
  });
}
