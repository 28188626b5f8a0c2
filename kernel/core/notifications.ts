import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { DeliveryDeferredError, KernelQueue } from '../api';
import type { NotificationMessage, NotificationRequest, NotificationTemplates, Notifications, Notifier, OperatorTopic } from '../api';
import type { KernelConfig } from './config';
import { hotQuery, returnedRows } from './database';
import { Notification } from './entities';
import type { KernelQueues } from './queues';

export const DELIVER_JOB = 'notification.deliver';
export const SWEEP_JOB = 'notification.sweep';
/** The channel an owner's message is recorded under when no notifier serves owners. */
const OWNER_UNSERVED = 'owner';
const OPERATORS_UNSERVED = 'operators';
/** How often an audience without a notifier is logged. */
const UNSERVED_LOG_MS = 60_000;

type Policy = KernelConfig['notifications'];

/**
 * Outbox first, delivery second: a message is a row (rendered from its template) before any mail
 * server is touched, and a queued job delivers it. A delivery first claims the row (one UPDATE:
 * pending and due → sending), so two jobs for one message never both send it; a failure puts it
 * back with backoff until the last attempt. A sweep re-queues due rows whose job was lost and
 * rows whose worker died while sending. Mail to account holders goes to the channels whose
 * notifiers serve the 'owner' audience, operator notices to those serving 'operators'.
 */
export class NotificationOutbox implements Notifications {
  constructor(
    private readonly ds: DataSource,
    private readonly queues: KernelQueues,
    private readonly notifiers: () => Notifier[],
    private readonly logger: Logger,
    private readonly templates: NotificationTemplates,
    private readonly policy: Policy,
  ) {
    queues.define<{ id: string }>(DELIVER_JOB, KernelQueue.notifications, (data) => this.deliver(data.id));
    queues.define(SWEEP_JOB, KernelQueue.notifications, () => this.sweep());
    queues.setConcurrency(KernelQueue.notifications, policy.concurrency);
  }

  async sendToOwner(message: NotificationRequest): Promise<void> {
    const channels = this.notifiers().filter((n) => n.audiences.includes('owner')).map((n) => n.channel);
    if (!channels.length) {
      await this.insert(OWNER_UNSERVED, message, 'undeliverable', 'no enabled notifier serves account owners');
      this.warnUnserved('owner', { template: message.template }, 'notification undeliverable: no notifier serves account owners');
      return;
    }
    if (await this.turnedOff(message)) {
      await this.insert(channels[0], message, 'suppressed', 'the account turned this notification off');
      return;
    }
    for (const channel of new Set(channels)) await this.send(channel, message);
  }

  async sendToOperators(topic: OperatorTopic, message: Omit<NotificationRequest, 'to'>): Promise<void> {
    const channels = this.notifiers().filter((n) => n.audiences.includes('operators')).map((n) => n.channel);
    if (!channels.length) {
      await this.insert(OPERATORS_UNSERVED, { ...message, to: topic }, 'undeliverable', 'no enabled notifier serves operators');
      this.warnUnserved('operators', { template: message.template, topic }, 'notification undeliverable: no notifier serves operators');
      return;
    }
    for (const channel of new Set(channels)) await this.send(channel, { ...message, to: topic });
  }

  /**
   * Without a notifier for an audience every such message is undeliverable (each row says so):
   * the log says it once a minute per audience, with how many since, not once per message.
   */
  private warnUnserved(audience: string, fields: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    const last = this.unserved.get(audience);
    if (last && now - last.at < UNSERVED_LOG_MS) {
      last.suppressed++;
      return;
    }
    this.unserved.set(audience, { at: now, suppressed: 0 });
    this.logger.warn({ ...fields, ...(last?.suppressed ? { alsoUndeliverable: last.suppressed } : {}) }, msg);
  }

  private readonly unserved = new Map<string, { at: number; suppressed: number }>();

  async send(channel: string, message: NotificationRequest): Promise<void> {
    const row = await this.insert(channel, message, 'pending');
    await this.schedule(row.id, 0, `notify-${row.id}`);
  }

  /** An optional template the account holder (by email) turned off. */
  private async turnedOff(message: NotificationRequest): Promise<boolean> {
    if (!this.templates.get(message.template)?.optional) return false;
    const rows: unknown[] = await this.ds.query(
      `SELECT 1 FROM notification_preference p JOIN account a ON a.id = p.account_id
        WHERE a.email = $1 AND p.template = $2 AND NOT p.enabled`, [message.to, message.template]);
    return rows.length > 0;
  }

  private async insert(channel: string, message: NotificationRequest, state: Notification['state'], lastError: string | null = null): Promise<{ id: string }> {
    const data = message.data ?? {};
    const rendered = this.templates.get(message.template)?.render(data);
    // One statement (no surrounding transaction): the outbox write is on every sender's path.
    const [row] = await hotQuery<{ id: string }>(this.ds, 'zpack_outbox_insert',
      `INSERT INTO notification (channel, recipient, template, subject, body, html, data, state, last_error, next_attempt_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
      [channel, message.to, message.template, rendered?.subject ?? message.subject ?? message.template, rendered?.text ?? message.text ?? '',
        rendered?.html ?? null, JSON.stringify(data), state, lastError, new Date()]);
    return row;
  }

  /** Queues a delivery; with Redis away the row stays pending and the sweep queues it later. */
  private async schedule(id: string, delayMs: number, jobId: string): Promise<void> {
    try {
      await this.queues.enqueue(KernelQueue.notifications, DELIVER_JOB, { id }, { jobId, delayMs: delayMs > 0 ? delayMs : undefined });
    } catch (err) {
      this.logger.warn({ err, id }, 'could not queue a notification; the outbox sweep will');
    }
  }

  async deliver(id: string): Promise<void> {
    const now = new Date();
    const leaseUntil = new Date(now.getTime() + this.policy.sendingLeaseSeconds * 1000);
    const [row] = await hotQuery<Record<string, any>>(this.ds, 'zpack_outbox_claim',
      `UPDATE notification SET state = 'sending', attempts = attempts + 1, lease_until = $3, updated_at = now()
        WHERE id = $1 AND state = 'pending' AND next_attempt_at <= $2
        RETURNING id, channel, recipient, template, subject, body, html, data, attempts`, [id, now, leaseUntil]);
    if (!row) return;
    const notifier = this.notifiers().find((n) => n.channel === row.channel);
    if (!notifier) {
      await this.settle(id, { state: 'undeliverable', lastError: `no notifier for channel "${row.channel}"` });
      this.logger.warn({ id, channel: row.channel }, 'notification undeliverable: no notifier enabled for its channel');
      return;
    }
    const message: NotificationMessage = {
      id, to: row.recipient, subject: row.subject, text: row.body, template: row.template, data: row.data, ...(row.html ? { html: row.html } : {}),
    };
    try {
      await notifier.send(message);
    } catch (err) {
      await this.failed(id, row.attempts, err as Error);
      return;
    }
    await hotQuery(this.ds, 'zpack_outbox_sent',
      `UPDATE notification SET state = 'sent', last_error = NULL, sent_at = $2, lease_until = NULL, updated_at = now() WHERE id = $1 AND state = 'sending'`, [id, new Date()]);
  }

  private async failed(id: string, attempts: number, err: Error): Promise<void> {
    if (err instanceof DeliveryDeferredError) {
      // The channel said when: not a failure, so the attempt is given back.
      const delayMs = Math.max(0, err.retryAfterMs);
      await this.settle(id, { state: 'pending', attempts: attempts - 1, lastError: err.message, nextAttemptAt: new Date(Date.now() + delayMs), leaseUntil: null });
      await this.schedule(id, delayMs, `notify-${id}-d${Date.now()}`);
      return;
    }
    if (attempts >= this.policy.maxAttempts) {
      await this.settle(id, { state: 'failed', lastError: err.message, leaseUntil: null });
      this.logger.warn({ id, attempts, err: err.message }, 'notification failed for good; an operator can retry it');
      return;
    }
    const delayMs = Math.min(this.policy.backoffMaxMs, this.policy.backoffBaseMs * 2 ** (attempts - 1));
    await this.settle(id, { state: 'pending', lastError: err.message, nextAttemptAt: new Date(Date.now() + delayMs), leaseUntil: null });
    await this.schedule(id, delayMs, `notify-${id}-a${attempts}`);
  }

  /** Writes the outcome only while this delivery still holds the row. */
  private async settle(id: string, patch: Partial<Pick<Notification, 'state' | 'attempts' | 'lastError' | 'nextAttemptAt' | 'leaseUntil' | 'sentAt'>>): Promise<void> {
    await this.ds.createQueryBuilder().update(Notification).set(patch).where(`id = :id AND state = 'sending'`, { id }).execute();
  }

  /** Queues what is due and unclaimed (its job lost), and frees rows whose worker died while sending. */
  async sweep(): Promise<number> {
    const now = new Date();
    await this.ds.query(`UPDATE notification SET state = 'pending', lease_until = NULL, next_attempt_at = $1
      WHERE state = 'sending' AND lease_until < $1`, [now]);
    // A grace period, so a job that is about to run is not doubled by the sweep.
    const due: Array<{ id: string }> = await this.ds.query(
      `SELECT id FROM notification WHERE state = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT 1000`,
      [new Date(now.getTime() - this.policy.sweepIntervalSeconds * 1000)]);
    for (const { id } of due) await this.schedule(id, 0, `notify-${id}-s${now.getTime()}`);
    return due.length;
  }

  /** An operator's retry of a failed or undeliverable message: pending again, attempts from zero. */
  async retry(id: string): Promise<Notification | null> {
    const [row] = returnedRows<{ id: string }>(await this.ds.query(
      `UPDATE notification SET state = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL, updated_at = now()
        WHERE id = $1 AND state IN ('failed', 'undeliverable') RETURNING id`, [id]));
    if (!row) return null;
    await this.schedule(id, 0, `notify-${id}-r${Date.now()}`);
    return this.ds.getRepository(Notification).findOneBy({ id });
  }
}
