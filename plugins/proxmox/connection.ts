import path from 'node:path';
import type { Logger } from 'pino';
import { BootError, ProviderError, type SimulatorDirectory } from '../../kernel/api';
import type { ProxmoxConfig } from './config';
import { ProxmoxClient } from './client/proxmox-client';
import { SIMULATOR_TOKEN, ProxmoxSimulator } from './testing/simulator';

/** The name the agent plugin publishes its simulator under. */
const AGENT_SIMULATOR = 'agent';

/**
 * The plugin's link to Proxmox, one per kernel. Opened in start(): in simulate mode the client
 * can only point at the simulator once it listens, so the provider reads `client` on each call.
 */
export class ProxmoxConnection {
  /** The loopback simulator, in simulate mode; its `faults` are how end-to-end tests misbehave it. */
  simulator?: ProxmoxSimulator;
  /** The simulator's API base URL (this process's or the simulators process's), in simulate mode. */
  simulatorUrl?: string;
  private current?: ProxmoxClient;
  private simulators?: SimulatorDirectory;

  constructor(private readonly config: ProxmoxConfig) {}

  get client(): ProxmoxClient {
    if (!this.current) throw new ProviderError('proxmox', 'connect', 'the proxmox plugin has not started', { reason: 'not_started' });
    return this.current;
  }

  /**
   * In simulate mode every container's agent is the agent simulator's, wherever it listens this
   * run; config.agentEndpoint applies when no agent simulator runs in this kernel.
   */
  get agentEndpoint(): string | undefined {
    const agents = this.config.simulate ? this.simulators?.lookup(AGENT_SIMULATOR) : undefined;
    return agents && `${agents}/ct/{vmid}`;
  }

  async open(logger: Logger, simulators?: SimulatorDirectory): Promise<void> {
    const { config } = this;
    if (!config.simulate) {
      this.current = new ProxmoxClient(config);
      return;
    }
    this.simulators = simulators;
    const tokenId = config.tokenId || SIMULATOR_TOKEN.id;
    const tokenSecret = config.tokenSecret || SIMULATOR_TOKEN.secret;
    if (simulators?.remote) {
      this.simulatorUrl = simulators.require('proxmox');
      this.current = new ProxmoxClient({ ...config, baseUrl: this.simulatorUrl, tokenId, tokenSecret });
      return;
    }
    const stateDir = simulators?.stateDir('proxmox');
    this.simulator = new ProxmoxSimulator({
      ...config.simulator, tokenId, tokenSecret, nodes: config.nodes,
      agentSimulatorUrl: () => simulators?.lookup(AGENT_SIMULATOR),
      stateFile: stateDir && path.join(stateDir, 'cluster.json'),
    });
    const { host, port } = config.simulator;
    const baseUrl = await this.simulator.start().catch((err: Error) => {
      throw new BootError(`proxmox simulator cannot listen on ${host}:${port}: ${err.message}`);
    });
    this.simulatorUrl = baseUrl;
    this.current = new ProxmoxClient({ ...config, baseUrl, tokenId, tokenSecret });
    simulators?.publish('proxmox', baseUrl);
    logger.info({ url: baseUrl, stateDir }, 'proxmox simulator listening');
  }

  async close(): Promise<void> {
    this.current?.close();
    this.current = undefined;
    this.simulatorUrl = undefined;
    await this.simulator?.stop();
    this.simulator = undefined;
  }
}
