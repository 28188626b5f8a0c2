import { DeliveryDeferredError, ProviderError } from '../../../kernel/api';

export interface WebhookMessage {
  content: string;
  username: string;
}

/** Discord's 429 body (seconds, possibly fractional). */
interface RateLimited {
  retry_after?: number;
  global?: boolean;
  message?: string;
}

/**
 * POST to a Discord webhook (`?wait=true`, so a 200 means the message exists). Mentions are
 * never parsed. A 429 becomes DeliveryDeferredError after its `retry_after`; anything else that
 * fails is a ProviderError naming discord, and the outbox retries it with backoff.
 */
export async function postWebhook(url: string, message: WebhookMessage, timeoutMs: number): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`${url}?wait=true`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...message, allowed_mentions: { parse: [] } }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new ProviderError('discord', 'webhook', `Discord webhook unreachable: ${cause}`, {}, err);
  }
  const text = await res.text().catch(() => '');
  if (res.status === 429) {
    const body = parse<RateLimited>(text);
    const seconds = typeof body?.retry_after === 'number' ? body.retry_after : Number(res.headers.get('retry-after') ?? 1);
    throw new DeliveryDeferredError(Math.ceil(Math.max(0, seconds) * 1000), `Discord rate limit${body?.global ? ' (global)' : ''}: retry after ${seconds}s`);
  }
  if (!res.ok) {
    throw new ProviderError('discord', 'webhook', `Discord answered ${res.status}`, { status: res.status, body: text.slice(0, 500) });
  }
}

function parse<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
