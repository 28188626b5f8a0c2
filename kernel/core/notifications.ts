import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { KernelQueue } from '../api';
import type { Notifications, NotificationMessage, Notifier, OperatorTopic } from '../api';
import { Notification } from './entities';
import type { KernelQueues } from './queues';

export const DELIVER_JOB = 'notification.deliver';
/** The channel an owner's message is recorded under when no notifier serves owners. */
const OWNER_UNSERVED = 'owner';
const OPERATORS_UNSERVED = 'operators';

/**
 * Outbox first, delivery second: a message is a row before any mail server is touched, and a
 * queued job delivers it with retries. No notifier for the channel → the row says so. Mail to
 * account holders goes to the channels whose notifiers say they serve the 'owner' audience.
 */
export class NotificationOutbox implements Notifications {
  constructor(
    private readonly ds: DataSource,
    private readonly queues: KernelQueues,
    private readonly notifiers: () => Notifier[],
    private readonly logger: Logger,
  ) {
    queues.define<{ id: string }>(DELIVER_JOB, KernelQueue.notifications, (data) => this.deliver(data.id));
  }

  async sendToOwner(message: NotificationMessage): Promise<void> {
    const channels = this.notifiers().filter((n) => n.audiences.includes('owner')).map((n) => n.channel);
    if (!channels.length) {
      await this.ds.getRepository(Notification).save(this.row(OWNER_UNSERVED, message, 'undeliverable', 'no enabled notifier serves account owners'));
      this.logger.warn({ template: message.template }, 'notification undeliverable: no notifier serves account owners');
      return;
    }
    for (const channel of new Set(channels)) await this.send(channel, message);
  }

  async sendToOperators(topic: OperatorTopic, message: Omit<NotificationMessage, 'to'>): Promise<void> {
    const channels = this.notifiers().filter((n) => n.audiences.includes('operators')).map((n) => n.channel);
    if (!channels.length) {
      await this.ds.getRepository(Notification).save(this.row(OPERATORS_UNSERVED, { ...message, to: topic }, 'undeliverable', 'no enabled notifier serves operators'));
      this.logger.warn({ template: message.template, topic }, 'notification undeliverable: no notifier serves operators');
      return;
    }
    for (const channel of new Set(channels)) await this.send(channel, { ...message, to: topic });
  }

  async send(channel: string, message: NotificationMessage): Promise<void> {
    const row = await this.ds.getRepository(Notification).save(this.row(channel, message, 'pending'));
    await this.queues.enqueue(KernelQueue.notifications, DELIVER_JOB, { id: row.id }, { jobId: `notify-${row.id}`, attempts: 5 });
  }

  private row(channel: string, message: NotificationMessage, state: Notification['state'], lastError: string | null = null): Partial<Notification> {
    return {
      channel, recipient: message.to, template: message.template, subject: message.subject,
      body: message.text, data: message.data ?? {}, state, lastError,
    };
  }

  async deliver(id: string): Promise<void> {
    const repo = this.ds.getRepository(Notification);
    const row = await repo.findOneBy({ id });
    if (!row || row.state === 'sent') return;
    const notifier = this.notifiers().find((n) => n.channel === row.channel);
    if (!notifier) {
      await repo.update(id, { state: 'undeliverable', lastError: `no notifier for channel "${row.channel}"` });
      this.logger.warn({ id, channel: row.channel }, 'notification undeliverable: no notifier enabled for its channel');
      return;
    }
    try {
      await notifier.send({ to: row.recipient, subject: row.subject, text: row.body, template: row.template, data: row.data });
      await repo.update(id, { state: 'sent', attempts: row.attempts + 1, lastError: null });
    } catch (err) {
      await repo.update(id, { state: 'failed', attempts: row.attempts + 1, lastError: (err as Error).message });
      throw err;
    }
  }
}
