import { z } from 'zod';
import { InstanceType } from '../../../kernel/api';
import type { InstanceCapabilities, InstanceView, ProvisionPlan } from '../../../kernel/api';
import { cloudflareConfig, type CloudflareConfig } from '../config';
import { CloudflareClient } from '../client/cloudflare-client';
import { CloudflareEdge } from '../provider';
import { CloudflareSimulator, type CloudflareSimulatorOptions } from './simulator';

export const TEST_ZONE = { id: '9a7806061c88ada191ed06f989cc3dac', name: 'play.example.test' } as const;
export const TEST_TOKEN = 'test-cloudflare-token';
export const TEST_TARGET = 'proxy.play.example.test';
/** The SRV service of the test's game type; instances of any other type declare none. */
export const TEST_SRV_SERVICE = '_minecraft._tcp';
/** The game type of `gameInstance()`, as the plugin sees it through the InstanceType port. */
export class TestGameType extends InstanceType {
  readonly kind = 'game';
  readonly type = 'minecraft';
  readonly optionsSchema = z.object({});
  readonly capabilities: InstanceCapabilities = { connect: { protocol: 'tcp', srvService: TEST_SRV_SERVICE }, proxied: 'minecraft' };
  async plan(plan: ProvisionPlan): Promise<ProvisionPlan> {
    return plan;
  }
}
export const testSrvServiceOf = (instance: InstanceView): string | undefined => (instance.type === 'minecraft' ? TEST_SRV_SERVICE : undefined);

/** A simulator on a free port, and providers wired to it through the real client, for tests. */
export class SimulatedCloudflare {
  readonly simulator: CloudflareSimulator;
  private baseUrl = '';

  constructor(options: CloudflareSimulatorOptions = {}) {
    this.simulator = new CloudflareSimulator({ port: 0, apiToken: TEST_TOKEN, ...options });
  }

  async start(): Promise<this> {
    this.baseUrl = await this.simulator.start();
    return this;
  }

  stop(): Promise<void> {
    return this.simulator.stop();
  }

  edge(options: TestOptions = {}): CloudflareEdge {
    const config = this.config(options);
    return new CloudflareEdge(config, { client: new CloudflareClient(config), zoneId: config.zoneId }, testSrvServiceOf, 'cloudflare');
  }

  /** Short deadlines so failures show within a test's time. */
  config(options: TestOptions = {}): CloudflareConfig {
    return cloudflareConfig.parse({
      baseUrl: this.baseUrl, apiToken: TEST_TOKEN, zoneId: TEST_ZONE.id, zoneName: TEST_ZONE.name, target: TEST_TARGET,
      timeoutMs: 1000, deadlineMs: 10_000, ...options,
    });
  }
}

type TestOptions = Partial<z.input<typeof cloudflareConfig>>;

/** A running game instance as the kernel hands it to plugins. */
export const gameInstance = (overrides: Partial<InstanceView> = {}): InstanceView => ({
  id: '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b', ownerId: 'b7e3c1d2-0000-4000-8000-000000000001',
  kind: 'game', type: 'minecraft', name: 'Survival', state: 'running', vmid: 5001, node: 'pve1',
  address: 'http://127.0.0.1:7071/ct/5001', host: '127.0.0.1', ports: [{ name: 'game', port: 30001, protocol: 'tcp' }],
  payload: {}, createdAt: new Date('2025-01-01T00:00:00Z'), ...overrides,
});
