import type { SimulatorDirectory } from '../../kernel/api';
import type { DiscordConfig } from './config';
import type { Topic } from './notifier';
import { DiscordSimulator } from './testing/simulator';

/** The simulated webhooks' URLs, as the simulators process publishes them. */
const DISCORD_OPS = 'discord.ops';
const DISCORD_SUPPORT = 'discord.support';

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
    if (simulators.remote) {
      // `zpack simulators` runs Discord for every process of the fleet and publishes its webhooks.
      this.simulated = { ops: simulators.require(DISCORD_OPS), support: simulators.require(DISCORD_SUPPORT) };
      return;
    }
    this.simulator = new DiscordSimulator(this.config.simulator);
    await this.simulator.start();
    this.simulated = { ops: this.simulator.webhook('ops'), support: this.simulator.webhook('support') };
    simulators.publish('discord', this.simulator.url);
    simulators.publish(DISCORD_OPS, this.simulated.ops);
    simulators.publish(DISCORD_SUPPORT, this.simulated.support);
  }

  async close(): Promise<void> {
    await this.simulator?.stop();
  }
}
