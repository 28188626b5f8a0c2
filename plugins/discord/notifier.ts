import { Notifier, ProviderError } from '../../kernel/api';
import type { NotificationMessage } from '../../kernel/api';
import { discordContent } from './client/markdown';
import { postWebhook } from './client/webhook-client';
import type { DiscordConfig } from './config';

export type Topic = keyof DiscordConfig['webhooks'];

/**
 * The `discord` channel: notices for the people running the installation, `to` being the topic
 * (`ops`, `support`), each topic posted to its own webhook (a topic without one goes to `ops`).
 * Everything in a message is shown literally: markdown and mentions are neutralised.
 */
export class DiscordNotifier extends Notifier {
  readonly channel = 'discord';
  readonly audiences = ['operators'] as const;

  constructor(private readonly config: DiscordConfig, private readonly webhooks: () => Record<Topic, string>) {
    super();
  }

  async send(message: NotificationMessage): Promise<void> {
    const hooks = this.webhooks();
    const url = hooks[message.to as Topic] || hooks.ops;
    if (!url) throw new ProviderError('discord', 'webhook', `no webhook configured for topic "${message.to}" (nor for ops)`, { topic: message.to });
    await postWebhook(url, { content: discordContent(message.subject, message.text), username: this.config.username }, this.config.timeoutMs);
  }
}
