import { expect } from 'chai';
import { z } from 'zod';
import { BootError, definePlugin } from '../../kernel/api';
import type { PluginDefinition } from '../../kernel/api';
import { resolvePlugins, modulePluginSource } from '../../kernel/core/plugin-loader';
import { distRoot } from '../harness';

const plugin = (name: string, dependsOn: string[] = [], config: z.ZodType = z.object({})): PluginDefinition =>
  definePlugin({ name, version: '1.0.0', kernelApi: '2', dependsOn, config, register() {} });

const load = (defs: PluginDefinition[], options: Record<string, unknown> = {}, disabled: string[] = []) =>
  resolvePlugins(
    Object.fromEntries(defs.map((d) => [d.name, { enabled: !disabled.includes(d.name), options: (options[d.name] ?? {}) as Record<string, unknown> }])),
    modulePluginSource(distRoot, defs),
  );

describe('PluginLoader', () => {
  it('orders plugins after what they depend on', () => {
    const order = load([plugin('velocity', ['minecraft']), plugin('cloudflare', ['minecraft']), plugin('minecraft', ['proxmox']), plugin('proxmox')])
      .map((p) => p.definition.name);
    expect(order.indexOf('proxmox')).to.be.lessThan(order.indexOf('minecraft'));
    expect(order.indexOf('minecraft')).to.be.lessThan(order.indexOf('velocity'));
    expect(order.indexOf('minecraft')).to.be.lessThan(order.indexOf('cloudflare'));
  });

  it('stops boot on a bad option, naming the plugin and the key path', () => {
    const schema = z.object({ api: z.object({ token: z.string(), timeoutMs: z.number() }) });
    expect(() => load([plugin('cloudflare', [], schema)], { cloudflare: { api: { token: 'x', timeoutMs: 'soon' } } }))
      .to.throw(BootError, /plugin "cloudflare": bad option plugins\.cloudflare\.options\.api\.timeoutMs/);
  });

  it('names the chain when a dependency is not enabled', () => {
    expect(() => load([plugin('velocity', ['minecraft']), plugin('minecraft', ['proxmox']), plugin('proxmox')], {}, ['proxmox']))
      .to.throw(BootError, /"minecraft" depends on "proxmox", which is not enabled \((velocity -> )?minecraft -> proxmox\)/);
  });

  it('names the cycle', () => {
    expect(() => load([plugin('a', ['b']), plugin('b', ['c']), plugin('c', ['a'])]))
      .to.throw(BootError, /cycle: a -> b -> c -> a/);
  });

  it('skips disabled plugins without loading them', () => {
    expect(load([plugin('a'), plugin('b')], {}, ['b']).map((p) => p.definition.name)).to.deep.equal(['a']);
  });

  it('reports a plugin that cannot be found', () => {
    expect(() => resolvePlugins({ nosuch: { enabled: true, options: {} } }, modulePluginSource(distRoot)))
      .to.throw(BootError, /plugin "nosuch": cannot load/);
  });

  it('applies schema defaults to options', () => {
    const [p] = load([plugin('x', [], z.object({ retries: z.number().default(3) }))]);
    expect(p.options).to.deep.equal({ retries: 3 });
  });
});
