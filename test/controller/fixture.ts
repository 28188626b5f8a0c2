import { z } from 'zod';
import { BillingGate, Notifier, Tokens, definePlugin } from '../../kernel/api';
import type { EnforcementState, MaintenanceCalendar, MaintenanceWindowView, NotificationAudience, NotificationMessage } from '../../kernel/api';
import cloudflarePlugin from '../../plugins/cloudflare';
import { CloudflareSimulator } from '../../plugins/cloudflare/testing/simulator';
import velocityPlugin from '../../plugins/velocity';
import { VelocityConnection } from '../../plugins/velocity/connection';
import type { BridgeSimulator } from '../../plugins/velocity/testing/simulator';
import { startTestKernel, type TestKernel } from '../harness';
import { fleetConfig, fleetPlugins, startFleet, waitFor, type Fleet } from '../provisioning/fixture';

export const ZONE = { id: '0c7a3f1e2b4d5a6978c8b9a0d1e2f3a4', name: 'play.example.test' };
export const EDGE_TOKEN = 'controller-edge-token';
export const PROXY = { target: 'proxy.play.example.test', port: 25577 };

/** Operator notices as a Discord channel would get them: a notifier serving 'operators'. */
export class OpsChannel extends Notifier {
  readonly channel = 'ops-test';
  readonly audiences: readonly NotificationAudience[] = ['operators'];
  readonly messages: NotificationMessage[] = [];
  async send(message: NotificationMessage): Promise<void> {
    this.messages.push(message);
  }
}

export const opsChannelPlugin = (channel: OpsChannel) => definePlugin({
  name: 'ops-test', version: '1.0.0', kernelApi: '2', config: z.object({}),
  register(ctx) {
    ctx.provide(Notifier, () => channel);
  },
});

/** The billing plugin's gate as the controller asks it: accounts listed here are suspended. */
export class FakeBillingGate extends BillingGate {
  readonly suspended = new Set<string>();
  async stateOf(accountId: string): Promise<EnforcementState> {
    return this.suspended.has(accountId) ? 'suspended' : 'active';
  }
}

/** A maintenance calendar a test opens and closes. */
export class FakeCalendar implements MaintenanceCalendar {
  window: MaintenanceWindowView | null = null;
  async activeFor(node: string | null): Promise<MaintenanceWindowView | null> {
    const w = this.window;
    return w && (w.node === null || w.node === node) ? w : null;
  }
}

export interface ControllerEnv {
  fleet: Fleet;
  cloudflare: CloudflareSimulator;
  bridge: BridgeSimulator;
  tk: TestKernel;
  ops: OpsChannel;
  billing: FakeBillingGate;
  calendar: FakeCalendar;
  stop(): Promise<void>;
}

/** Proxmox, agents, Cloudflare and Velocity on loopback simulators, a kernel running everything, and a fast controller. */
export async function startControllerEnv(controller: Record<string, unknown> = {}): Promise<ControllerEnv> {
  const fleet = await startFleet();
  const cloudflare = new CloudflareSimulator({ port: 0, apiToken: EDGE_TOKEN });
  await cloudflare.start();
  const ops = new OpsChannel();
  const billing = new FakeBillingGate();
  const calendar = new FakeCalendar();
  const tk = await startTestKernel({
    plugins: [...fleetPlugins, cloudflarePlugin, velocityPlugin, opsChannelPlugin(ops)],
    overrides: [{ token: BillingGate, value: billing }, { token: Tokens.Maintenance, value: calendar }],
    config: fleetConfig(fleet, {
      controller: { enabled: true, repairLevel: 0, intervalSeconds: 0.2, addressChecksPerPass: 100, ...controller },
      plugins: {
        cloudflare: {
          enabled: true,
          options: { simulate: false, baseUrl: cloudflare.url, apiToken: EDGE_TOKEN, zoneId: ZONE.id, zoneName: ZONE.name, ...PROXY, timeoutMs: 2000 },
        },
        velocity: { enabled: true, options: { simulate: true, simulator: { port: 0 }, proxyToken: 'controller-proxy-token', timeoutMs: 2000 } },
        agent: { options: { driftChecksPerPass: 100 } },
        'ops-test': { enabled: true, options: {} },
      },
    }),
  });
  const bridge = tk.kernel.resolve(VelocityConnection).simulator!;
  return {
    fleet, cloudflare, bridge, tk, ops, billing, calendar,
    stop: async () => {
      await tk.stop();
      await cloudflare.stop();
      await fleet.stop();
    },
  };
}

/** Resolves once the elected controller has finished `n` more passes (a pass that began after this call included). */
export async function passes(tk: TestKernel, n = 2): Promise<void> {
  const target = tk.kernel.controller.passes + n;
  await waitFor(() => tk.kernel.controller.passes >= target, `${n} more controller passes`, 20_000);
}

export interface RepairRow {
  id: string;
  kind: string;
  state: string;
  level: number;
  instance_id: string | null;
  operation_id: string | null;
  outcome: Record<string, unknown> | null;
  resolved_at: Date | null;
  sightings: number;
  fencing_token: string;
}

export async function repairsOf(tk: TestKernel, kind: string, subject: { instanceId?: string; operationId?: string } = {}): Promise<RepairRow[]> {
  return tk.kernel.ds.query(
    `SELECT id, kind, state, level, instance_id, operation_id, outcome, resolved_at, sightings, fencing_token FROM repair_event
      WHERE kind = $1 AND ($2::uuid IS NULL OR instance_id = $2) AND ($3::uuid IS NULL OR operation_id = $3) ORDER BY created_at`,
    [kind, subject.instanceId ?? null, subject.operationId ?? null]);
}

/** Waits for the one event of this kind and subject to satisfy `check`. */
export async function eventWhere(
  tk: TestKernel, kind: string, subject: { instanceId?: string; operationId?: string }, check: (row: RepairRow) => boolean, what: string,
): Promise<RepairRow> {
  return waitFor(async () => (await repairsOf(tk, kind, subject)).find(check), what, 20_000);
}
