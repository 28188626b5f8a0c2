import type { SimulatorDirectory } from '../../kernel/api';
import type { DiscordConfig } from './config';
import type { Topic } from './notifier';
import { DiscordSimulator } from './testing/simulator';

/**
 * Where this kernel's notices go: the configured webhooks, or in simulate mode a loopback
 * simulator's (started in the plugin's start, one per kernel).
 */
export class DiscordConnection {
  /** The loopback simulator, in simulate mode; its `faults` are how end-to-end tests misbehave it. */
  simulator?: DiscordSimulator;
  private simulated?: Record<Topic, string>;

  constructor(private readonly config: DiscordConfig) {}

  webhooks(): Record<Topic, string> {
    return this.simulated ?? this.config.webhooks;
  }

  async open(simulators: SimulatorDirectory): Promise<void> {
    if (!this.config.simulate) return;
    this.simulator = new DiscordSimulator(this.config.simulator);
    await this.simulator.start();
    simulators.publish('discord', this.simulator.url);
    this.simulated = { ops: this.simulator.webhook('ops'), support: this.simulator.webhook('support') };
  }

  async close(): Promise<void> {
    await this.simulator?.stop();
  }
}
