import { PortId } from '../ports';

export interface NotificationMessage {
  /** Recipient in the channel's terms: an email address, a Discord channel name. */
  to: string;
  subject: string;
  text: string;
  /** A stable name of what happened (password_reset, server_crashed …) for filtering and tests. */
  template: string;
  data?: Record<string, unknown>;
}

/** Delivers messages over one channel (email via SMTP, Discord webhook …). */
export abstract class Notifier {
  /** One notifier per channel; many channels at once. */
  static readonly port = new PortId<Notifier>('Notifier', { multiple: true });
  abstract readonly channel: string;
  abstract send(message: NotificationMessage): Promise<void>;
}
