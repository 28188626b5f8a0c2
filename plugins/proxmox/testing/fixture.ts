import type { z } from 'zod';
import { proxmoxConfig, type ProxmoxConfig } from '../config';
import { ProxmoxClient } from '../client/proxmox-client';
import { ProxmoxHosting } from '../provider';
import { ProxmoxSimulator, type ProxmoxSimulatorOptions } from './simulator';

export const TEST_TOKEN = { tokenId: 'zpack@pve!ctl', tokenSecret: 'test-secret' } as const;

/** A simulator on a free port, and providers wired to it through the real client, for tests. */
export class SimulatedProxmox {
  readonly simulator: ProxmoxSimulator;
  private baseUrl = '';

  constructor(options: ProxmoxSimulatorOptions = {}) {
    this.simulator = new ProxmoxSimulator({ port: 0, taskMs: 20, nodes: ['pve1', 'pve2'], ...TEST_TOKEN, ...options });
  }

  async start(): Promise<this> {
    this.baseUrl = await this.simulator.start();
    return this;
  }

  stop(): Promise<void> {
    return this.simulator.stop();
  }

  hosting(options: TestOptions = {}): ProxmoxHosting {
    const config = this.config(options);
    return new ProxmoxHosting(config, { client: new ProxmoxClient(config) });
  }

  client(options: TestOptions = {}): ProxmoxClient {
    return new ProxmoxClient(this.config(options));
  }

  /** Short timeouts and polls so failures show within a test's time. */
  private config(options: TestOptions): ProxmoxConfig {
    return proxmoxConfig.parse({
      baseUrl: this.baseUrl, ...TEST_TOKEN, nodes: ['pve1', 'pve2'],
      timeoutMs: 1000, taskPollMs: 10, taskTimeoutMs: 3000, shutdownTimeoutSeconds: 1,
      agentEndpoint: 'http://127.0.0.1:7071/ct/{vmid}', ...options,
    });
  }
}

type TestOptions = Partial<z.input<typeof proxmoxConfig>>;
