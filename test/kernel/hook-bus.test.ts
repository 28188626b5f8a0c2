import { expect } from 'chai';
import pino from 'pino';
import { HookError, VetoError } from '../../kernel/api';
import type { AccountView, ProvisionPlan } from '../../kernel/api';
import { createHookBus } from '../../kernel/core/hook-bus';
import { KernelMetrics } from '../../kernel/core/metrics';

const account: AccountView = { id: 'a', email: 'a@x', role: 'user', billingExempt: false };
const basePlan = (): ProvisionPlan => ({ account, kind: 'game', type: 'minecraft', name: 's', options: {}, portNeeds: [], agentPayload: {} });

describe('HookBus', () => {
  let metrics: KernelMetrics;
  const bus = () => createHookBus(pino({ level: 'silent' }), (metrics = new KernelMetrics(false)));

  it('is frozen', () => {
    const hooks = bus();
    expect(Object.isFrozen(hooks)).to.equal(true);
    expect(() => { (hooks as any).beforeProvision = null; }).to.throw(TypeError);
  });

  it('runs taps in registration order and passes the waterfall along', async () => {
    const hooks = bus();
    const seen: string[] = [];
    hooks.beforeProvision.tapPromise('minecraft', async (p) => { seen.push('minecraft'); return { ...p, template: 'paper', memoryMb: 2048 }; });
    hooks.beforeProvision.tapPromise('quota', async (p) => { seen.push(`quota saw ${p.template}`); return { ...p, cores: 2 }; });
    const plan = await hooks.beforeProvision.promise(basePlan());
    expect(seen).to.deep.equal(['minecraft', 'quota saw paper']);
    expect(plan).to.include({ template: 'paper', memoryMb: 2048, cores: 2 });
  });

  it('lets a veto through with its own code, naming hook and plugin', async () => {
    const hooks = bus();
    let after = false;
    hooks.beforeProvision.tapPromise('billing', async () => { throw new VetoError('billing_suspended', 'suspended', 402); });
    hooks.beforeProvision.tapPromise('later', async (p) => { after = true; return p; });
    const err = await hooks.beforeProvision.promise(basePlan()).then(() => null, (e) => e);
    expect(err).to.be.instanceOf(VetoError);
    expect(err).to.include({ code: 'billing_suspended', status: 402 });
    expect(err.details).to.include({ hook: 'beforeProvision', plugin: 'billing' });
    expect(after, 'taps after a veto do not run').to.equal(false);
  });

  it('wraps other failures with hook and plugin name', async () => {
    const hooks = bus();
    hooks.afterProvision.tapPromise('cloudflare', async () => { throw new Error('socket hang up'); });
    const err = await hooks.afterProvision.promise({} as any).then(() => null, (e) => e);
    expect(err).to.be.instanceOf(HookError);
    expect(err.message).to.equal('afterProvision tap "cloudflare" failed: socket hang up');
    expect(err.cause.message).to.equal('socket hang up');
  });

  it('bails at the first onRepair tap that returns a result', async () => {
    const hooks = bus();
    hooks.onRepair.tapPromise('velocity', async (d) => (d.kind === 'proxy_missing' ? { action: 'reregister', ok: true } : undefined));
    hooks.onRepair.tapPromise('cloudflare', async (d) => (d.kind === 'edge_missing' ? { action: 'edge_republish', ok: true } : undefined));
    expect(await hooks.onRepair.promise({ kind: 'edge_missing', detail: {} })).to.deep.equal({ action: 'edge_republish', ok: true });
    expect(await hooks.onRepair.promise({ kind: 'unknown', detail: {} })).to.equal(undefined);
  });

  it('records each tap in metrics', async () => {
    const hooks = bus();
    hooks.onInstanceReady.tapPromise('velocity', async () => undefined);
    await hooks.onInstanceReady.promise({} as any);
    const text = await metrics.registry.metrics();
    expect(text).to.match(/zpack_hook_tap_duration_seconds_count\{hook="onInstanceReady",plugin="velocity",outcome="ok"\} 1/);
  });

  it('refuses callback-style taps', () => {
    const hooks = bus();
    expect(() => hooks.afterProvision.tap('sync', () => undefined)).to.throw(/must use tapPromise/);
  });
});
