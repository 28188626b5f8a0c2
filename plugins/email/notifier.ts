import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import { Notifier, ProviderError } from '../../kernel/api';
import type { NotificationMessage } from '../../kernel/api';
import type { EmailConfig } from './config';

/** Email over SMTP, or into an outbox folder of .eml files on the embedded default. */
export class EmailNotifier extends Notifier {
  readonly channel = 'email';
  /** Any account holder, at the account's email address. */
  readonly audiences = ['owner'] as const;
  private readonly transporter: Transporter;

  constructor(private readonly config: EmailConfig) {
    super();
    const smtp = config.smtp;
    this.transporter = config.transport === 'smtp'
      ? nodemailer.createTransport({
          host: smtp.host, port: smtp.port, secure: smtp.secure,
          ...(smtp.maxConnections > 0 ? { pool: true, maxConnections: smtp.maxConnections } : {}),
          auth: smtp.user ? { user: smtp.user, pass: smtp.password } : undefined,
          connectionTimeout: smtp.timeoutMs, greetingTimeout: smtp.timeoutMs, socketTimeout: smtp.timeoutMs,
          tls: { rejectUnauthorized: smtp.host !== '127.0.0.1' && smtp.host !== 'localhost' },
        })
      : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  }

  /** Closes pooled SMTP connections. */
  close(): void {
    this.transporter.close();
  }

  async send(message: NotificationMessage): Promise<void> {
    let info: { message?: unknown };
    try {
      info = await this.transporter.sendMail({
        from: this.config.from, to: message.to, subject: message.subject, text: message.text,
        ...(message.html ? { html: message.html } : {}),
        // The outbox id names the message across retries: a receiver that saw it already can drop the repeat.
        ...(message.id ? { messageId: `<${message.id}@zpack.outbox>` } : {}),
        headers: { 'X-Zpack-Template': message.template },
      });
    } catch (err) {
      throw new ProviderError('smtp', 'send', (err as Error).message, {}, err);
    }
    if (this.config.transport === 'outbox') {
      await mkdir(this.config.outboxDir, { recursive: true });
      // Time first so a listing sorts by it; the id keeps two messages of the same millisecond apart.
      const file = `${new Date().toISOString().replace(/[:.]/g, '-')}-${message.template}-${randomUUID()}.eml`;
      await writeFile(path.join(this.config.outboxDir, file), info.message as Buffer, { flag: 'wx' });
    }
  }
}
