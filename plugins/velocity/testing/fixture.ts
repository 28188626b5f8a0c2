import { BridgeClient, type BridgeClientOptions } from '../client/bridge-client';
import { VelocityProxy } from '../provider';
import { BridgeSimulator, type BridgeSimulatorOptions } from './simulator';

export const TEST_BRIDGE_TOKEN = 'test-bridge-token';

/** A bridge simulator on a free port, and clients and providers wired to it, for tests. */
export class SimulatedBridge {
  readonly simulator: BridgeSimulator;
  private readonly clients: BridgeClient[] = [];

  constructor(options: BridgeSimulatorOptions = {}) {
    this.simulator = new BridgeSimulator({ port: 0, token: TEST_BRIDGE_TOKEN, ...options });
  }

  async start(): Promise<this> {
    await this.simulator.start();
    return this;
  }

  async stop(): Promise<void> {
    for (const client of this.clients) client.close();
    await this.simulator.stop();
  }

  /** Short timeouts so failures show within a test's time. */
  client(options: Partial<BridgeClientOptions> = {}): BridgeClient {
    const client = new BridgeClient({ baseUrl: this.simulator.url, token: TEST_BRIDGE_TOKEN, timeoutMs: 1000, retries: 2, maxSockets: 8, ...options });
    this.clients.push(client);
    return client;
  }

  proxy(options: Partial<BridgeClientOptions> = {}): VelocityProxy {
    return new VelocityProxy({ client: this.client(options) });
  }
}
