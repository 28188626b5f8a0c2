import type { Logger } from 'pino';
import { BootError, type SimulatorDirectory } from '../../kernel/api';
import { HeadscaleClient } from './client/headscale-client';
import type { HeadscaleConfig } from './config';
import { HeadscaleSimulator, SIMULATOR_API_KEY } from './testing/simulator';

/** The client this kernel uses, against the real Headscale or (simulate) a loopback simulator started here. */
export class HeadscaleConnection {
  simulator?: HeadscaleSimulator;
  private current?: HeadscaleClient;
  private base = '';

  constructor(private readonly config: HeadscaleConfig) {}

  get client(): HeadscaleClient {
    if (!this.current) throw new Error('the headscale connection has not started');
    return this.current;
  }

  /** Where clients log in (`tailscale up --login-server`). */
  get loginServer(): string {
    return this.config.loginServer || this.base;
  }

  async open(logger: Logger, simulators: SimulatorDirectory): Promise<void> {
    const { timeoutMs } = this.config;
    if (!this.config.simulate) {
      this.base = this.config.baseUrl;
      this.current = new HeadscaleClient({ baseUrl: this.config.baseUrl, apiKey: this.config.apiKey, timeoutMs });
      return;
    }
    if (simulators.remote) {
      // `zpack simulators` runs Headscale for every process of the fleet.
      this.base = simulators.require('headscale');
      this.current = new HeadscaleClient({ baseUrl: this.base, apiKey: SIMULATOR_API_KEY, timeoutMs });
      return;
    }
    const simulator = new HeadscaleSimulator(this.config.simulator);
    this.base = await simulator.start().catch((err: Error) => {
      throw new BootError(`headscale simulator cannot listen: ${err.message}`);
    });
    this.simulator = simulator;
    this.current = new HeadscaleClient({ baseUrl: this.base, apiKey: SIMULATOR_API_KEY, timeoutMs });
    simulators.publish('headscale', this.base);
    logger.info({ url: this.base }, 'headscale simulator listening');
  }

  async close(): Promise<void> {
    this.current = undefined;
    await this.simulator?.stop();
  }
}
