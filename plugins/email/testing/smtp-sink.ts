import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  /** The body (the text/plain part of a multipart message), decoded from quoted-printable when sent that way. */
  text: string;
  /** The text/html part, decoded, when the message has one. */
  html: string;
  messageId: string;
  subject: string;
  template: string;
  /** Date.now() when the message was accepted. */
  at: number;
}

/**
 * A real SMTP server on loopback that keeps what it receives; for tests and benchmarks. A start
 * after a stop listens on the same port again, as a mail server coming back would.
 */
export class SmtpSink {
  readonly messages: ReceivedMail[] = [];
  private server?: SMTPServer;
  private waiters: Array<() => void> = [];
  port = 0;

  async start(): Promise<this> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, session, done) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          this.messages.push({
            ...parseMail(raw),
            from: session.envelope.mailFrom ? (session.envelope.mailFrom as { address: string }).address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            at: Date.now(),
          });
          for (const w of this.waiters.splice(0)) w();
          done();
        });
      },
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this;
  }

  /** Resolves with the first message to `to` (and template) received so far or within the timeout. */
  async waitFor(to: string, template?: string, timeoutMs = 10_000): Promise<ReceivedMail> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.messages.find((m) => m.to.includes(to) && (!template || m.template === template));
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no mail to ${to}${template ? ` (${template})` : ''} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** Subject, template and text of one RFC 5322 message, as a mail client shows them (an .eml file too). */
export function parseMail(raw: string): { subject: string; template: string; text: string; html: string; to: string; messageId: string } {
  const head = raw.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, ' ');
  const header = (name: string) => new RegExp(`^${name}: (.*)$`, 'mi').exec(head)?.[1]?.trim() ?? '';
  const parts = multipart(raw, head);
  const part = (type: string) => parts.find((p) => new RegExp(`^Content-Type: *${type}`, 'mi').test(p.split(/\r?\n\r?\n/)[0]));
  const text = parts.length ? decodeBody(part('text/plain') ?? '') : decodeBody(raw);
  const html = parts.length ? decodeBody(part('text/html') ?? '') : '';
  return { subject: decodeWords(header('Subject')), template: header('X-Zpack-Template'), text, html, to: header('To'), messageId: header('Message-ID') };
}

/** The parts of a multipart message (each with its own headers), or none when it is a single part. */
function multipart(raw: string, head: string): string[] {
  const boundary = /^Content-Type: *multipart\/[\w-]+;.*boundary="?([^";\r\n]+)"?/mi.exec(head)?.[1];
  if (!boundary) return [];
  const body = raw.slice(raw.search(/\r?\n\r?\n/));
  return body.split(`--${boundary}`).slice(1).filter((p) => !p.startsWith('--')).map((p) => p.replace(/^\r?\n/, ''));
}

/** The body as text: quoted-printable and base64 decoded as UTF-8, line ends as LF. */
function decodeBody(raw: string): string {
  const split = raw.search(/\r?\n\r?\n/);
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split).trim();
  const encoding = /^Content-Transfer-Encoding: *([\w-]+)/mi.exec(head)?.[1]?.toLowerCase();
  let text = body;
  if (encoding === 'quoted-printable') {
    const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
    text = Buffer.from(bytes, 'latin1').toString('utf8');
  } else if (encoding === 'base64') {
    text = Buffer.from(body, 'base64').toString('utf8');
  }
  return text.replace(/\r\n/g, '\n');
}

/** RFC 2047 encoded words (=?UTF-8?Q?…?= / =?UTF-8?B?…?=) in a header, as mail clients show them. */
function decodeWords(value: string): string {
  return value.replace(/=\?UTF-8\?([QB])\?([^?]*)\?=\s*/gi, (_m, enc: string, text: string) => enc.toUpperCase() === 'B'
    ? Buffer.from(text, 'base64').toString('utf8')
    : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'));
}
