import { Notifier, type Clock, type NotificationAudience, type NotificationMessage } from '../api';
import { until } from './poll';

/**
 * A Notifier that keeps what it is sent, in order: hand it to startTestKernel's overrides (or
 * use it as a plugin's fake) and read `messages`. It serves account owners unless told otherwise,
 * so the kernel's mail to its users lands here. `failNext` makes the next sends throw, as an
 * unreachable mail relay would.
 */
export class MemoryNotifier extends Notifier {
  readonly messages: NotificationMessage[] = [];
  private failures = 0;

  constructor(readonly channel = 'email', readonly audiences: readonly NotificationAudience[] = ['owner']) {
    super();
  }

  async send(message: NotificationMessage): Promise<void> {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error(`${this.channel} is unreachable (injected)`);
    }
    this.messages.push({ ...message, data: message.data && { ...message.data } });
  }

  failNext(count = 1): void {
    this.failures = count;
  }

  /** The first message to `to` (and of `template`, when given), waiting for it up to `timeoutMs`. */
  async waitFor(to: string, template?: string, timeoutMs = 10_000): Promise<NotificationMessage> {
    const match = (m: NotificationMessage) => m.to === to && (!template || m.template === template);
    const found = await until(`a ${template ?? ''} message to ${to}`, () => this.messages.find(match), (m) => m !== undefined, timeoutMs);
    return found!;
  }
}

/** A Clock that moves only when told (swap it in for Tokens.Clock): expiry without waiting. */
export class FakeClock implements Clock {
  private current: number;

  /** Starts at the real time: tokens signed by the real clock must not look expired or future. */
  constructor(start: Date | string | number = Date.now()) {
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  advance(ms: number): Date {
    if (ms < 0) throw new RangeError('a clock does not run backwards');
    this.current += ms;
    return this.now();
  }

  set(to: Date | string): void {
    this.current = new Date(to).getTime();
  }
}
