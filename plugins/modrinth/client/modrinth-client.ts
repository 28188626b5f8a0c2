import { createHash } from 'node:crypto';
import type { ZodType, z } from 'zod';
import { ProviderError, RemoteUnavailableError } from '../../../kernel/api';
import type { CatalogCache } from './cache';

export interface ModrinthClientOptions {
  baseUrl: string;
  userAgent: string;
  timeoutMs: number;
  freshSeconds: number;
  maxFileBytes: number;
  /** Retry-After when Modrinth gave none. */
  unavailableRetrySeconds: number;
}

const REMOTE = 'modrinth';

/**
 * The typed wire client of Modrinth's v2 API. GETs go through the Redis cache (fresh answers
 * served, stale ones revalidated with If-None-Match) and identical GETs in flight share one
 * request. 429 and 5xx become RemoteUnavailableError carrying Modrinth's Retry-After
 * (X-Ratelimit-Reset when that is all it sent); other failures are ProviderError.
 */
export class ModrinthClient {
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(private readonly options: ModrinthClientOptions, private readonly cache: CatalogCache, private readonly now: () => number = Date.now) {}

  /** A cached GET of `path` (with its query), parsed with `schema`; 404 is null. */
  async get<S extends ZodType>(operation: string, path: string, query: Record<string, string>, schema: S): Promise<z.infer<S> | null> {
    const url = this.url(path, query);
    let pending = this.inFlight.get(url) as Promise<unknown> | undefined;
    if (!pending) {
      pending = this.fetchCached(operation, url).finally(() => this.inFlight.delete(url));
      this.inFlight.set(url, pending);
    }
    const body = await pending;
    if (body === null) return null;
    return this.parse(operation, schema, body);
  }

  /** An uncached POST (hash lookups change with every set of hashes). */
  async post<S extends ZodType>(operation: string, path: string, body: unknown, schema: S): Promise<z.infer<S>> {
    const res = await this.send(operation, this.url(path, {}), { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
    if (!res.ok) throw await this.failure(operation, res);
    return this.parse(operation, schema, await res.json());
  }

  /** Downloads a file the catalog listed and checks its sha512 (the control plane reads modpack indexes this way). */
  async download(url: string, sha512: string, size: number): Promise<Buffer> {
    if (size > this.options.maxFileBytes) {
      throw new ProviderError(REMOTE, 'download', `the file is ${size} bytes, above the ${this.options.maxFileBytes} bytes the control plane fetches`, { reason: 'too_large' });
    }
    const res = await this.send('download', url, { method: 'GET' });
    if (!res.ok) throw await this.failure('download', res);
    const bytes = Buffer.from(await res.arrayBuffer());
    const actual = createHash('sha512').update(bytes).digest('hex');
    if (actual !== sha512) throw new ProviderError(REMOTE, 'download', 'the file does not match its sha512', { reason: 'hash_mismatch', expected: sha512, actual });
    return bytes;
  }

  private url(path: string, query: Record<string, string>): string {
    const qs = new URLSearchParams(Object.entries(query).sort(([a], [b]) => a.localeCompare(b))).toString();
    return `${this.options.baseUrl.replace(/\/$/, '')}${path}${qs ? `?${qs}` : ''}`;
  }

  private async fetchCached(operation: string, url: string): Promise<unknown> {
    const cached = await this.cache.get(url);
    const now = this.now();
    if (cached && now - cached.checkedAt < this.options.freshSeconds * 1000) {
      this.cache.stats.hits++;
      return cached.body;
    }
    const headers: Record<string, string> = cached?.etag ? { 'If-None-Match': cached.etag } : {};
    const res = await this.send(operation, url, { method: 'GET', headers });
    if (res.status === 304 && cached) {
      this.cache.stats.revalidated++;
      await res.body?.cancel();
      await this.cache.put(url, { ...cached, checkedAt: now });
      return cached.body;
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    if (!res.ok) throw await this.failure(operation, res);
    const body = await res.json().catch(() => {
      throw new ProviderError(REMOTE, operation, 'the answer is not JSON', { status: res.status });
    });
    this.cache.stats.misses++;
    await this.cache.put(url, { etag: res.headers.get('etag'), body, checkedAt: now });
    return body;
  }

  private async send(operation: string, url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, {
        ...init, redirect: 'follow', signal: AbortSignal.timeout(this.options.timeoutMs),
        headers: { 'User-Agent': this.options.userAgent, Accept: 'application/json', ...(init.headers as Record<string, string>) },
      });
    } catch (err) {
      const reason = (err as Error).name === 'TimeoutError' ? `no answer within ${this.options.timeoutMs} ms` : ((err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message);
      throw new RemoteUnavailableError(REMOTE, operation, this.options.unavailableRetrySeconds, { reason });
    }
  }

  private async failure(operation: string, res: Response): Promise<Error> {
    const text = await res.text().catch(() => '');
    if (res.status === 429 || res.status >= 500) {
      const retry = Number(res.headers.get('retry-after') ?? res.headers.get('x-ratelimit-reset'));
      const seconds = Number.isFinite(retry) && retry > 0 ? Math.ceil(retry) : this.options.unavailableRetrySeconds;
      return new RemoteUnavailableError(REMOTE, operation, seconds, { status: res.status });
    }
    return new ProviderError(REMOTE, operation, `answered ${res.status}`, { status: res.status, body: text.slice(0, 2048) });
  }

  private parse<S extends ZodType>(operation: string, schema: S, body: unknown): z.infer<S> {
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new ProviderError(REMOTE, operation, 'the answer has an unexpected shape', { issues: parsed.error.issues.slice(0, 5) });
    return parsed.data;
  }
}
