import { z } from 'zod';
import { ProviderError } from '../../../kernel/api';

export interface HeadscaleClientOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
}

/** Headscale's pre-auth key (REST API v1), as far as we read it. */
export const preAuthKey = z.object({
  id: z.string(),
  key: z.string().min(1),
  user: z.unknown().optional(),
  reusable: z.boolean(),
  ephemeral: z.boolean(),
  used: z.boolean(),
  expiration: z.string(),
  aclTags: z.array(z.string()).default([]),
});
export type PreAuthKey = z.infer<typeof preAuthKey>;

/** Typed client of the Headscale REST API: bearer API key, JSON, one deadline per call, never retried (a create is not idempotent). */
export class HeadscaleClient {
  constructor(private readonly options: HeadscaleClientOptions) {}

  /** POST /api/v1/preauthkey: a single-use, non-ephemeral key that expires at `expiration` and tags the node. */
  async createPreAuthKey(input: { user: string; expiration: Date; aclTags: string[] }): Promise<PreAuthKey> {
    const body = { user: input.user, reusable: false, ephemeral: false, expiration: input.expiration.toISOString(), aclTags: input.aclTags };
    const answer = await this.call('create pre-auth key', 'POST', '/api/v1/preauthkey', body);
    const parsed = z.object({ preAuthKey }).safeParse(answer);
    if (!parsed.success) throw new ProviderError('headscale', 'create pre-auth key', 'answered an unexpected body', { body: answer });
    return parsed.data.preAuthKey;
  }

  private async call(operation: string, method: string, path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(this.options.baseUrl.replace(/\/+$/, '') + path, {
        method,
        headers: { authorization: `Bearer ${this.options.apiKey}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError';
      throw new ProviderError('headscale', operation, timedOut ? `no answer within ${this.options.timeoutMs} ms` : 'unreachable', { reason: timedOut ? 'timeout' : 'unreachable' }, err);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Kept as text for the details.
    }
    if (!res.ok) throw new ProviderError('headscale', operation, `answered ${res.status}`, { status: res.status, body: typeof parsed === 'string' ? parsed.slice(0, 500) : parsed });
    return parsed;
  }
}
