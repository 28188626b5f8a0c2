import type { Logger } from 'pino';
import { z } from 'zod';
import { NotFoundError, ProviderError } from '../../kernel/api';
import type { AccountView, Clock, InstanceDirectory, InstanceView, ProxyBackend, ProxyRegistry, StepOutcome } from '../../kernel/api';
import { backendFor, backendName, nameOf, vmidOf } from './backend';

/** What the proxy reports about a backend (POST /api/velocity/events). */
export const PROXY_EVENTS = ['registered_with_proxy', 'proxy_ping_ok', 'proxy_ping_failed'] as const;
export type ProxyEvent = (typeof PROXY_EVENTS)[number];

/** This plugin's payload section of an instance (payload[plugin name]), shown as `proxy` by GET /api/servers/:id/status. */
export interface ProxySection {
  state: 'registered' | 'reachable' | 'unreachable' | 'register_failed' | 'suspended' | 'unregistered';
  lastEvent: string;
  at: string;
}

/** ProxySection as GET /api/servers/:id/status documents it (`proxy: {state, lastEvent, at}` of API.md). */
export const proxySectionSchema = z.object({
  state: z.enum(['registered', 'reachable', 'unreachable', 'register_failed', 'suspended', 'unregistered']),
  lastEvent: z.string().meta({ description: 'The last proxy event or change that set the state' }),
  at: z.string().meta({ description: 'When it happened (ISO-8601 UTC)' }),
}).meta({ description: 'The game server as the proxy sees it; null until the proxy plugin first records it' });

/** Recorded states that already mean the proxy routes the server (its own pings included). */
const ROUTED: ReadonlySet<string> = new Set<ProxySection['state']>(['registered', 'reachable', 'unreachable']);

const EVENT_STATE: Record<ProxyEvent, ProxySection['state']> = {
  registered_with_proxy: 'registered',
  proxy_ping_ok: 'reachable',
  proxy_ping_failed: 'unreachable',
};

export interface ResyncResult {
  registered: number;
  failed: Array<{ name: string; error: string }>;
}

export interface RegistrationDeps {
  proxy: ProxyRegistry;
  /** The payload section this plugin owns: its name. */
  section: string;
  /** Resolved on use: kernel services exist only once the plugin is registered. */
  directory(): InstanceDirectory;
  clock(): Clock;
  logger: Logger;
  /** Registrations in flight at once in bulk work (resync, billing suspend and restore). */
  concurrency: number;
  /** The enabled types whose capabilities say a Minecraft proxy routes them; no other instance is ever registered. */
  proxiedTypes(): string[];
  /**
   * The host name players type to reach the instance (EdgeProvider.playerAddress), or null when
   * no edge publishes it: the proxy's forced host for the backend. Read from the instance alone.
   */
  playerHost(instance: InstanceView): string | null;
}

/**
 * Keeps the proxy's backends in step with the game servers that are ready, and records each
 * change in the instance's payload section of this plugin. Readiness is always the kernel's last
 * observed value (DB state + Redis): nothing not ready is ever registered.
 */
export class ProxyRegistrations {
  constructor(private readonly deps: RegistrationDeps) {}

  instance(id: string): Promise<InstanceView | null> {
    return this.deps.directory().get(id);
  }

  /** Whether the proxy routes instances of this one's type. */
  proxies(instance: InstanceView): boolean {
    return this.deps.proxiedTypes().includes(instance.type);
  }

  /**
   * Registers a proxied server if it is ready now; false when it is not, or not proxied (nothing is
   * sent). The instance is read again: the view a hook was given may predate what other plugins
   * recorded since (the edge publishes the player address in afterProvision, before onInstanceReady).
   */
  async registerIfReady(instance: InstanceView): Promise<boolean> {
    const current = await this.readyView(instance);
    if (!current) return false;
    await this.register(current);
    return true;
  }

  /** A proxied server whose last observed readiness is true. */
  async isReady(instance: InstanceView): Promise<boolean> {
    return (await this.readyView(instance)) !== null;
  }

  /** The server as stored now, when it is proxied and its last observed readiness is true. */
  private async readyView(instance: InstanceView): Promise<InstanceView | null> {
    if (!this.proxies(instance)) return null;
    const ready = await this.deps.directory().listReady({ types: [instance.type], ownerId: instance.ownerId });
    return ready.find((i) => i.id === instance.id) ?? null;
  }

  /** Drops a backend by name (one no live server has); nothing is recorded. */
  unregisterName(name: string): Promise<StepOutcome> {
    return this.deps.proxy.unregister(name);
  }

  /**
   * Re-registers every ready game server, e.g. after the proxy restarted and forgot them all.
   * Records that already say the proxy routes the server stay as they are: the proxy confirms
   * each registration with its own event, which a rewrite of ours could land after and hide.
   */
  async resync(): Promise<ResyncResult> {
    const ready = await this.deps.directory().listReady({ types: this.deps.proxiedTypes() });
    const failed = await eachBounded(ready, this.deps.concurrency, (i) => this.register(i, 'changes'));
    return { registered: ready.length - failed.length, failed: failed.map(({ item, error }) => ({ name: nameOf(item), error: error.message })) };
  }

  /** The backends a starting proxy should route to, with their forced hosts: ready game servers only. */
  async rehydrate(): Promise<ProxyBackend[]> {
    const ready = await this.deps.directory().listReady({ types: this.deps.proxiedTypes() });
    return ready.flatMap((instance) => {
      try {
        return [this.backendOf(instance)];
      } catch (err) {
        this.deps.logger.warn({ instanceId: instance.id, err }, 'ready server left out of rehydrate');
        return [];
      }
    });
  }

  async unregister(instance: InstanceView, lastEvent: string, state: ProxySection['state']): Promise<StepOutcome> {
    if (instance.vmid === null) return 'skipped';
    const outcome = await this.deps.proxy.unregister(backendName(instance.vmid));
    await this.record(instance.id, { state, lastEvent, at: this.now() });
    return outcome;
  }

  /** Billing suspended the account: none of its game servers stays routed. */
  async suspendAccount(account: AccountView): Promise<void> {
    const servers = await this.deps.directory().list({ types: this.deps.proxiedTypes(), ownerId: account.id });
    const failed = await eachBounded(servers, this.deps.concurrency, (i) => this.unregister(i, 'suspended_by_billing', 'suspended'));
    if (failed.length) throw bulkFailure('suspend', account, servers.length, failed);
  }

  /** Payment restored: the account's servers that are ready now are routed again (the rest when they get ready). */
  async restoreAccount(account: AccountView): Promise<void> {
    const ready = await this.deps.directory().listReady({ types: this.deps.proxiedTypes(), ownerId: account.id });
    const failed = await eachBounded(ready, this.deps.concurrency, (i) => this.register(i));
    if (failed.length) throw bulkFailure('restore', account, ready.length, failed);
  }

  /** Records what the proxy reported about one of our backends; unknown names are 404. */
  async recordEvent(server: string, event: ProxyEvent, at: string): Promise<ProxySection> {
    const vmid = vmidOf(server);
    const instance = vmid === null ? null : await this.deps.directory().findByVmid(vmid);
    if (!instance || !this.proxies(instance)) throw new NotFoundError('Server');
    const section: ProxySection = { state: EVENT_STATE[event], lastEvent: event, at };
    await this.record(instance.id, section);
    return section;
  }

  /** Registers the server and records it: always, or only when the record said the proxy did not route it. */
  private async register(instance: InstanceView, record: 'always' | 'changes' = 'always'): Promise<void> {
    try {
      await this.deps.proxy.register(this.backendOf(instance));
    } catch (err) {
      await this.record(instance.id, { state: 'register_failed', lastEvent: 'register_failed', at: this.now() });
      throw err;
    }
    const recorded = (instance.payload[this.deps.section] as Partial<ProxySection> | undefined)?.state;
    if (record === 'changes' && recorded && ROUTED.has(recorded)) return;
    await this.record(instance.id, { state: 'registered', lastEvent: 'registered_by_control_plane', at: this.now() });
  }

  /** The server's backend with its forced host; an edge that cannot say the host costs the name, never the registration. */
  private backendOf(instance: InstanceView): ProxyBackend {
    let host: string | null = null;
    try {
      host = this.deps.playerHost(instance);
    } catch (err) {
      this.deps.logger.warn({ instanceId: instance.id, err }, 'no player address for the proxy: registered without a forced host');
    }
    return backendFor(instance, host);
  }

  private record(id: string, section: ProxySection): Promise<void> {
    return this.deps.directory().patchSection(id, this.deps.section, { ...section });
  }

  private now(): string {
    return this.deps.clock().now().toISOString();
  }
}

/** Runs `work` on every item, at most `limit` at once; returns the items that failed. */
async function eachBounded<T>(items: T[], limit: number, work: (item: T) => Promise<unknown>): Promise<Array<{ item: T; error: Error }>> {
  const failed: Array<{ item: T; error: Error }> = [];
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++];
      try {
        await work(item);
      } catch (err) {
        failed.push({ item, error: err instanceof Error ? err : new Error(String(err)) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return failed;
}

function bulkFailure(operation: string, account: AccountView, total: number, failed: Array<{ item: InstanceView; error: Error }>): ProviderError {
  return new ProviderError('velocity', operation, `${failed.length} of ${total} servers of account ${account.id} failed: ${failed[0].error.message}`, {
    failed: failed.map(({ item, error }) => ({ name: nameOf(item), error: error.message })),
  });
}
