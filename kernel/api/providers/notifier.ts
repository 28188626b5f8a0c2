import { PortId } from '../ports';

export interface NotificationMessage {
  /** Recipient in the channel's terms: an email address, a Discord channel name. */
  to: string;
  subject: string;
  text: string;
  /** A stable name of what happened (password_reset, server_crashed …) for filtering and tests. */
  template: string;
  data?: Record<string, unknown>;
  /** The HTML alternative a template rendered (every user-written value escaped); channels without HTML ignore it. */
  html?: string;
  /** The outbox row's id: stable across retries, so a channel can mark it (a Message-ID) for receivers to drop repeats. */
  id?: string;
}

/**
 * What a sender hands the outbox: a template registered with NotificationTemplates renders the
 * subject, text and HTML from `data`; otherwise `subject` and `text` are sent as given.
 */
export type NotificationRequest = Omit<NotificationMessage, 'subject' | 'text' | 'html' | 'id'> & { subject?: string; text?: string };

/**
 * A channel asking to be tried again later (Discord's 429 with retry_after): the outbox schedules
 * the next attempt after `retryAfterMs` and does not count this one as a failure.
 */
export class DeliveryDeferredError extends Error {
  constructor(readonly retryAfterMs: number, message: string) {
    super(message);
    this.name = 'DeliveryDeferredError';
  }
}

/**
 * Whom a notifier can reach. 'owner': an account holder, `to` being the account's email address
 * (the kernel's mail to its users goes to every channel that serves it). 'operators': the people
 * running the installation, `to` in the channel's own terms.
 */
export type NotificationAudience = 'owner' | 'operators';

/** Delivers messages over one channel (email via SMTP, Discord webhook …). */
export abstract class Notifier {
  /** One notifier per channel; many channels at once. */
  static readonly port = new PortId<Notifier>('Notifier', { multiple: true });
  abstract readonly channel: string;
  /** What this channel can deliver; the kernel picks channels by it, never by name. */
  abstract readonly audiences: readonly NotificationAudience[];
  abstract send(message: NotificationMessage): Promise<void>;
}
