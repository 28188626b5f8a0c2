import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  dropConnection, LoopbackSimulator, parseJsonBody, readBoundedBody, sendSimulatorAnswer, SimulatorFaults,
  type SimulatorAnswer, type SimulatorRequestError,
} from '../../../kernel/api';

/** A message a webhook accepted, as Discord would store it. */
export interface SimulatedMessage {
  id: string;
  webhook: string;
  content: string;
  username: string | null;
  allowedMentions: unknown;
  /** Date.now() when it was accepted. */
  at: number;
}

/** Every request, including those answered with an injected fault. */
export interface SimulatorRequest {
  webhook: string;
  /** What it was answered; 0 when the connection was dropped. */
  status: number;
  at: number;
}

const WEBHOOK = /^\/api(?:\/v\d+)?\/webhooks\/([^/]+)\/([^/]+)$/;
const CONTENT_LIMIT = 2000;
/** The logs keep the latest only: the embedded default runs for as long as zpack does. */
const LOG_LIMIT = 50_000;

const error = (status: number, code: number, message: string, headers?: Record<string, string>): SimulatorAnswer =>
  ({ status, headers, body: { message, code } });

/**
 * Discord's webhook execution endpoint on loopback: `POST /api/webhooks/{id}/{token}` with a
 * JSON body (`content` of at most 2000 characters), `?wait=true` answering the message, 204
 * without it; unknown webhooks 404 (code 10015). Faults: latency, 5xx, dropped sockets, and 429
 * with Discord's body (`retry_after` in seconds, `global`) and headers.
 */
export class DiscordSimulator extends LoopbackSimulator {
  readonly faults = new SimulatorFaults({ errorStatus: 502 });
  readonly messages: SimulatedMessage[] = [];
  readonly requests: SimulatorRequest[] = [];
  private readonly webhooks = new Map<string, { name: string; token: string }>();
  private waiters: Array<() => void> = [];

  constructor(options: { host?: string; port?: number } = {}) {
    super(options);
  }

  /** A webhook's execution URL; the same name gets the same webhook. */
  webhook(name: string): string {
    let entry = [...this.webhooks.entries()].find(([, w]) => w.name === name);
    if (!entry) {
      entry = [String(BigInt('0x' + randomBytes(7).toString('hex'))), { name, token: randomBytes(24).toString('base64url') }];
      this.webhooks.set(entry[0], entry[1]);
    }
    return `${this.url}/api/webhooks/${entry[0]}/${entry[1].token}`;
  }

  /** Messages posted to the webhook named `name`. */
  messagesOf(name: string): SimulatedMessage[] {
    return this.messages.filter((m) => m.webhook === name);
  }

  /** Resolves once `count` messages reached the webhook `name` (or any webhook when null). */
  async waitFor(name: string | null, count = 1, timeoutMs = 10_000): Promise<SimulatedMessage[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = name === null ? this.messages : this.messagesOf(name);
      if (got.length >= count) return got;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`discord simulator: ${got.length} of ${count} messages to ${name ?? 'any webhook'} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  reset(): void {
    this.messages.length = 0;
    this.requests.length = 0;
    this.faults.clear();
  }

  protected failure(err: SimulatorRequestError): SimulatorAnswer {
    return error(err.status, 50035, err.message);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const match = WEBHOOK.exec(url.pathname);
    const hook = match ? this.webhooks.get(match[1]) : undefined;
    const entry: SimulatorRequest = { webhook: hook?.name ?? '', status: 0, at: Date.now() };
    this.log(this.requests, entry);
    const raw = await readBoundedBody(req);
    await this.faults.delay();
    if (this.faults.takeDrop()) return dropConnection(req);
    const answer = this.answer(req, url, match, hook, raw);
    entry.status = answer.status;
    sendSimulatorAnswer(res, answer);
  }

  private answer(req: IncomingMessage, url: URL, match: RegExpExecArray | null, hook: { name: string; token: string } | undefined, raw: Buffer): SimulatorAnswer {
    if (!match) return error(404, 0, '404: Not Found');
    if (req.method !== 'POST') return error(405, 0, '405: Method Not Allowed');
    if (!hook || hook.token !== match[2]) return error(404, 10015, 'Unknown Webhook');
    const retryAfter = this.faults.takeRateLimit('POST');
    if (retryAfter !== undefined) {
      return {
        status: 429,
        headers: { 'Retry-After': String(Math.ceil(retryAfter)), 'X-RateLimit-Limit': '5', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset-After': String(retryAfter) },
        body: { message: 'You are being rate limited.', retry_after: retryAfter, global: false },
      };
    }
    const injected = this.faults.takeFailure('POST');
    if (injected !== undefined) return error(injected, 0, `${injected}: injected failure`);
    const body = parseJsonBody(raw) as { content?: unknown; username?: unknown; allowed_mentions?: unknown } | undefined;
    if (!body || typeof body.content !== 'string' || !body.content.length) return error(400, 50006, 'Cannot send an empty message');
    if (body.content.length > CONTENT_LIMIT) return error(400, 50035, 'Invalid Form Body: content must be 2000 or fewer in length.');
    const message: SimulatedMessage = {
      id: String(BigInt(Date.now() - 1420070400000) << 22n), webhook: hook.name, content: body.content,
      username: typeof body.username === 'string' ? body.username : null, allowedMentions: body.allowed_mentions ?? null, at: Date.now(),
    };
    this.log(this.messages, message);
    for (const w of this.waiters.splice(0)) w();
    if (url.searchParams.get('wait') !== 'true') return { status: 204 };
    return { status: 200, body: { id: message.id, type: 0, content: message.content, webhook_id: match[1], author: { username: message.username } } };
  }

  private log<T>(list: T[], item: T): void {
    list.push(item);
    if (list.length > LOG_LIMIT) list.shift();
  }
}
