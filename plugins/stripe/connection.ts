import path from 'node:path';
import type { Logger } from 'pino';
import { API_SIMULATOR_NAME, BootError, ProviderError, type SimulatorDirectory } from '../../kernel/api';
import { StripeClient } from './client/stripe-client';
import type { StripeConfig } from './config';
import { SIMULATOR_SECRET_KEY, SIMULATOR_WEBHOOK_SECRET, StripeSimulator } from './testing/simulator';

/** The webhook route, where the embedded simulator posts its events. */
export const WEBHOOK_PATH = '/api/billing/webhook';

/**
 * The plugin's link to Stripe, one per kernel, opened in start(): in simulate mode the client can
 * only point at the simulator once it listens, and the simulator finds the API once that listens.
 */
export class StripeConnection {
  simulator?: StripeSimulator;
  private current?: { client: StripeClient; webhookSecret: string };

  constructor(private readonly config: StripeConfig) {}

  get client(): StripeClient {
    return this.opened().client;
  }

  get webhookSecret(): string {
    return this.opened().webhookSecret;
  }

  async open(logger: Logger, simulators: SimulatorDirectory, now: () => Date): Promise<void> {
    const { config } = this;
    if (!config.simulate) {
      this.current = { client: new StripeClient(config), webhookSecret: config.webhookSecret };
      return;
    }
    const secretKey = config.secretKey || SIMULATOR_SECRET_KEY;
    const webhookSecret = config.webhookSecret || SIMULATOR_WEBHOOK_SECRET;
    if (simulators.remote) {
      // `zpack simulators` runs Stripe for every process of the fleet, and posts its events to the API it was told of.
      this.current = { client: new StripeClient({ ...config, secretKey, baseUrl: simulators.require('stripe') }), webhookSecret };
      return;
    }
    const api = () => simulators.lookup(API_SIMULATOR_NAME);
    const stateDir = simulators.stateDir('stripe');
    this.simulator = new StripeSimulator({
      ...config.simulator, secretKey, webhookSecret, now: () => Math.floor(now().getTime() / 1000), stateFile: stateDir && path.join(stateDir, 'account.json'),
      webhookUrl: () => { const url = api(); return url && `${url}${WEBHOOK_PATH}`; },
    });
    const baseUrl = await this.simulator.start().catch((err: Error) => {
      throw new BootError(`stripe simulator cannot listen on ${config.simulator.host}:${config.simulator.port}: ${err.message}`);
    });
    this.current = { client: new StripeClient({ ...config, secretKey, baseUrl }), webhookSecret };
    simulators.publish('stripe', baseUrl);
    logger.info({ url: baseUrl }, 'stripe simulator listening (checkout pages under /checkout)');
  }

  async close(): Promise<void> {
    this.current = undefined;
    await this.simulator?.stop();
    this.simulator = undefined;
  }

  private opened(): { client: StripeClient; webhookSecret: string } {
    if (!this.current) throw new ProviderError('stripe', 'connect', 'the stripe plugin has not started', { reason: 'not_started' });
    return this.current;
  }
}
