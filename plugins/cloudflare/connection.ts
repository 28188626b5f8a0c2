import path from 'node:path';
import type { Logger } from 'pino';
import { BootError, ProviderError, type SimulatorDirectory } from '../../kernel/api';
import type { CloudflareConfig } from './config';
import { CloudflareClient } from './client/cloudflare-client';
import { CloudflareSimulator, SIMULATOR_TOKEN, SIMULATOR_ZONE_ID } from './testing/simulator';

/**
 * The plugin's link to Cloudflare, one per kernel. Opened in start(): in simulate mode the client
 * can only point at the simulator once it listens, so the provider reads `client` on each call.
 */
export class CloudflareConnection {
  /** The loopback simulator, in simulate mode; its `faults` are how end-to-end tests misbehave it. */
  simulator?: CloudflareSimulator;
  private current?: { client: CloudflareClient; zoneId: string };

  constructor(private readonly config: CloudflareConfig) {}

  get client(): CloudflareClient {
    return this.opened().client;
  }

  /** The zone records are written in (the simulator's own in simulate mode, unless configured). */
  get zoneId(): string {
    return this.opened().zoneId;
  }

  async open(logger: Logger, simulators?: SimulatorDirectory): Promise<void> {
    const { config } = this;
    if (!config.simulate) {
      this.current = { client: new CloudflareClient(config), zoneId: config.zoneId };
      return;
    }
    const apiToken = config.apiToken || SIMULATOR_TOKEN;
    const zoneId = config.zoneId || SIMULATOR_ZONE_ID;
    if (simulators?.remote) {
      this.current = { client: new CloudflareClient({ ...config, baseUrl: simulators.require('cloudflare'), apiToken }), zoneId };
      return;
    }
    const { host, port } = config.simulator;
    const stateDir = simulators?.stateDir('cloudflare');
    this.simulator = new CloudflareSimulator({ ...config.simulator, apiToken, stateFile: stateDir && path.join(stateDir, 'records.json') });
    const baseUrl = await this.simulator.start().catch((err: Error) => {
      throw new BootError(`cloudflare simulator cannot listen on ${host}:${port}: ${err.message}`);
    });
    this.current = { client: new CloudflareClient({ ...config, baseUrl, apiToken }), zoneId };
    simulators?.publish('cloudflare', baseUrl);
    logger.info({ url: baseUrl, stateDir }, 'cloudflare simulator listening');
  }

  async close(): Promise<void> {
    this.current = undefined;
    await this.simulator?.stop();
    this.simulator = undefined;
  }

  private opened(): { client: CloudflareClient; zoneId: string } {
    if (!this.current) throw new ProviderError('cloudflare', 'connect', 'the cloudflare plugin has not started', { reason: 'not_started' });
    return this.current;
  }
}
