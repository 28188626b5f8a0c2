import path from 'node:path';
import { BootError, KERNEL_API_VERSION } from '../api';
import type { PluginDefinition } from '../api';
import type { PluginEntry } from './config';

export interface LoadedPlugin {
  definition: PluginDefinition;
  options: unknown;
}

/**
 * Finds a plugin's definition: one handed in (tests), else `module` from config, else
 * `<root>/plugins/<name>`. The kernel never names a plugin itself.
 */
export type PluginSource = (name: string, entry: PluginEntry) => PluginDefinition;

export function modulePluginSource(distRoot: string, given: PluginDefinition[] = []): PluginSource {
  const byName = new Map(given.map((d) => [d.name, d]));
  return (name, entry) => {
    const known = byName.get(name);
    if (known) return known;
    const where = entry.module ?? path.join(distRoot, 'plugins', name);
    let mod: any;
    try {
      mod = require(where.startsWith('.') ? path.resolve(distRoot, where) : where);
    } catch (err) {
      throw new BootError(`plugin "${name}": cannot load ${where}: ${(err as Error).message}`, 'plugin_not_found');
    }
    const def = mod?.default ?? mod;
    if (!def || typeof def.register !== 'function' || def.name !== name) {
      throw new BootError(`plugin "${name}": ${where} does not export a definePlugin() named "${name}"`, 'plugin_invalid');
    }
    return def as PluginDefinition;
  };
}

/**
 * Enabled plugins, options validated by each plugin's schema, ordered so that every plugin
 * comes after what it depends on. Fails naming the plugin, the key path, or the cycle.
 */
export function resolvePlugins(entries: Record<string, PluginEntry>, source: PluginSource): LoadedPlugin[] {
  const enabled = new Map<string, LoadedPlugin>();
  for (const [name, entry] of Object.entries(entries)) {
    if (!entry.enabled) continue;
    const definition = source(name, entry);
    if (definition.kernelApi !== KERNEL_API_VERSION) {
      throw new BootError(`plugin "${name}" is written for kernel API ${definition.kernelApi ?? '(none declared)'}; this kernel offers ${KERNEL_API_VERSION}`,
        'kernel_api_mismatch');
    }
    const parsed = definition.config.safeParse(entry.options ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const key = ['plugins', name, 'options', ...issue.path.map(String)].join('.');
      const code = (issue as { params?: { bootCode?: string } }).params?.bootCode ?? 'invalid_option';
      throw new BootError(`plugin "${name}": bad option ${key}: ${issue.message}`, code);
    }
    enabled.set(name, { definition, options: parsed.data });
  }
  return orderByDependencies(enabled);
}

function orderByDependencies(plugins: Map<string, LoadedPlugin>): LoadedPlugin[] {
  const ordered: LoadedPlugin[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, chain: string[]): void => {
    const s = state.get(name);
    if (s === 'done') return;
    if (s === 'visiting') {
      const cycle = [...chain.slice(chain.indexOf(name)), name];
      throw new BootError(`plugin dependency cycle: ${cycle.join(' -> ')}`, 'plugin_dependency_cycle');
    }
    const plugin = plugins.get(name)!;
    state.set(name, 'visiting');
    for (const dep of plugin.definition.dependsOn ?? []) {
      if (!plugins.has(dep)) {
        throw new BootError(`plugin "${name}" depends on "${dep}", which is not enabled (${[...chain, name, dep].join(' -> ')})`, 'plugin_dependency_missing');
      }
      visit(dep, [...chain, name]);
    }
    state.set(name, 'done');
    ordered.push(plugin);
  };
  for (const name of [...plugins.keys()].sort()) visit(name, []);
  return ordered;
}
