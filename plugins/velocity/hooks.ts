import type { KernelHooks } from '../../kernel/api';
import type { ProxyRegistrations } from './registrations';
import { ProxyDrift } from './drift';


const PLUGIN = 'velocity';

/** Registration follows readiness; teardown, billing and repair undo or redo it. */
export function tapVelocityHooks(hooks: KernelHooks, registrations: ProxyRegistrations): void {
  hooks.onInstanceReady.tapPromise(PLUGIN, async (instance) => {
    await registrations.registerIfReady(instance);
  });

  hooks.onTeardown.tapPromise(PLUGIN, async (instance, report) => {
    if (!registrations.proxies(instance)) return;
    report.record('proxy_unregister', await registrations.unregister(instance, 'unregistered_by_control_plane', 'unregistered'));
  });

  // Warnings leave the servers running; only a suspension stops them, so only then do they leave the proxy.
  hooks.onBillingSuspend.tapPromise(PLUGIN, async (account, state) => {
    if (state === 'suspended') await registrations.suspendAccount(account);
  });

  hooks.onBillingRestore.tapPromise(PLUGIN, async (account) => {
    await registrations.restoreAccount(account);
  });

  hooks.onRepair.tapPromise(PLUGIN, async (drift) => {
    switch (drift.kind) {
      case ProxyDrift.missing:
      case ProxyDrift.wrong: {
        const instance = drift.instanceId ? await registrations.instance(drift.instanceId) : null;
        if (!instance) return { action: 'proxy_reregister', ok: false, detail: { reason: 'instance_gone', instanceId: drift.instanceId } };
        const registered = await registrations.registerIfReady(instance);
        return registered
          ? { action: 'proxy_reregister', ok: true }
          : { action: 'proxy_reregister', ok: false, detail: { reason: 'not_ready', instanceId: instance.id } };
      }
      case ProxyDrift.unready: {
        const instance = drift.instanceId ? await registrations.instance(drift.instanceId) : null;
        if (instance && (await registrations.isReady(instance))) return { action: 'proxy_unregister', ok: false, detail: { reason: 'ready_again' } };
        const name = String(drift.detail.name);
        const outcome = instance ? await registrations.unregister(instance, 'unregistered_not_ready', 'unregistered') : await registrations.unregisterName(name);
        return { action: 'proxy_unregister', ok: true, detail: { outcome } };
      }
      case ProxyDrift.orphan:
        return { action: 'proxy_unregister', ok: true, detail: { outcome: await registrations.unregisterName(String(drift.detail.name)) } };
      default:
        return undefined;
    }
  });
}
