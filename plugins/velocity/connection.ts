import path from 'node:path';
import type { Logger } from 'pino';
import { BootError, ProviderError, type SimulatorDirectory } from '../../kernel/api';
import type { VelocityConfig } from './config';
import { BridgeClient } from './client/bridge-client';
import { BridgeSimulator, SIMULATOR_BRIDGE_TOKEN } from './testing/simulator';

/**
 * The plugin's link to the Velocity bridge, one per kernel. Opened in start(): in simulate mode
 * the client can only point at the simulator once it listens, so callers read `client` on each call.
 */
export class VelocityConnection {
  /** The loopback simulator, in simulate mode; end-to-end tests restart it and inject its faults. */
  simulator?: BridgeSimulator;
  private current?: BridgeClient;

  constructor(private readonly config: VelocityConfig) {}

  get client(): BridgeClient {
    if (!this.current) throw new ProviderError('velocity', 'connect', 'the velocity plugin has not started', { reason: 'not_started' });
    return this.current;
  }

  async open(logger: Logger, simulators?: SimulatorDirectory): Promise<void> {
    const { config } = this;
    const client = { timeoutMs: config.timeoutMs, retries: config.retries, maxSockets: config.resyncConcurrency };
    if (!config.simulate) {
      this.current = new BridgeClient({ ...client, baseUrl: config.bridgeUrl, token: config.bridgeToken });
      return;
    }
    const token = config.bridgeToken || SIMULATOR_BRIDGE_TOKEN;
    if (simulators?.remote) {
      this.current = new BridgeClient({ ...client, baseUrl: simulators.require('velocity'), token });
      return;
    }
    const { host, port, playerPort, latencyMs } = config.simulator;
    const stateDir = simulators?.stateDir('velocity');
    this.simulator = new BridgeSimulator({ host, port, playerPort, latencyMs, token, stateFile: stateDir && path.join(stateDir, 'backends.json') });
    const baseUrl = await this.simulator.start().catch((err: Error) => {
      throw new BootError(`velocity simulator cannot listen on ${host}:${port} (bridge) and ${host}:${playerPort} (players): ${err.message}`);
    });
    this.current = new BridgeClient({ ...client, baseUrl, token });
    simulators?.publish('velocity', baseUrl);
    logger.info({ url: baseUrl, players: this.simulator.playerAddress, stateDir }, 'velocity bridge simulator listening');
  }

  async close(): Promise<void> {
    this.current?.close();
    this.current = undefined;
    await this.simulator?.stop();
    this.simulator = undefined;
  }
}
