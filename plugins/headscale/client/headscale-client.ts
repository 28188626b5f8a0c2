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

/** A tailnet node, as far as we read it: the tags it carries, however Headscale came to give them. */
const node = z.object({
  id: z.string(),
  forcedTags: z.array(z.string()).default([]),
  validTags: z.array(z.string()).default([]),
});
export type HeadscaleNode = z.infer<typeof node>;

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

  /** GET /api/v1/preauthkey?user=: every pre-auth key of `user`. */
  async preAuthKeys(user: string): Promise<PreAuthKey[]> {
    const answer = await this.call('list pre-auth keys', 'GET', `/api/v1/preauthkey?user=${encodeURIComponent(user)}`);
    const parsed = z.object({ preAuthKeys: z.array(preAuthKey).default([]) }).safeParse(answer);
    if (!parsed.success) throw new ProviderError('headscale', 'list pre-auth keys', 'answered an unexpected body', { body: answer });
    return parsed.data.preAuthKeys;
  }

  /** POST /api/v1/preauthkey/expire: the key joins no more nodes. */
  async expirePreAuthKey(user: string, key: string): Promise<void> {
    await this.call('expire pre-auth key', 'POST', '/api/v1/preauthkey/expire', { user, key });
  }

  /** GET /api/v1/node: every node of the tailnet. */
  async nodes(): Promise<HeadscaleNode[]> {
    const answer = await this.call('list nodes', 'GET', '/api/v1/node');
    const parsed = z.object({ nodes: z.array(node).default([]) }).safeParse(answer);
    if (!parsed.success) throw new ProviderError('headscale', 'list nodes', 'answered an unexpected body', { body: answer });
    return parsed.data.nodes;
  }

  /** DELETE /api/v1/node/{id}: the node leaves the tailnet. */
  async deleteNode(id: string): Promise<void> {
    await this.call('delete node', 'DELETE', `/api/v1/node/${encodeURIComponent(id)}`);
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
