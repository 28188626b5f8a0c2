import type { Logger } from 'pino';
import { ProviderError } from '../../kernel/api';
import type { ProxmoxConfig } from './config';
import { ProxmoxClient } from './client/proxmox-client';
import { SIMULATOR_TOKEN, ProxmoxSimulator } from './testing/simulator';

/**
 * The plugin's link to Proxmox, one per kernel. Opened in start(): in simulate mode the client
 * can only point at the simulator once it listens, so the provider reads `client` on each call.
 */
export class ProxmoxConnection {
  /** The loopback simulator, in simulate mode; its `faults` are how end-to-end tests misbehave it. */
  simulator?: ProxmoxSimulator;
  private current?: ProxmoxClient;

  constructor(private readonly config: ProxmoxConfig) {}

  get client(): ProxmoxClient {
    if (!this.current) throw new ProviderError('proxmox', 'connect', 'the proxmox plugin has not started', { reason: 'not_started' });
    return this.current;
  }

  async open(logger: Logger): Promise<void> {
    const { config } = this;
    if (!config.simulate) {
      this.current = new ProxmoxClient(config);
      return;
    }
    const tokenId = config.tokenId || SIMULATOR_TOKEN.id;
    const tokenSecret = config.tokenSecret || SIMULATOR_TOKEN.secret;
    this.simulator = new ProxmoxSimulator({ ...config.simulator, tokenId, tokenSecret, nodes: config.nodes });
    const baseUrl = await this.simulator.start();
    this.current = new ProxmoxClient({ ...config, baseUrl, tokenId, tokenSecret });
    logger.info({ url: baseUrl }, 'proxmox simulator listening');
  }

  async close(): Promise<void> {
    this.current = undefined;
    await this.simulator?.stop();
    this.simulator = undefined;
  }
}
