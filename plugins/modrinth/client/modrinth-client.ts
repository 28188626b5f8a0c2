import { createHash } from 'node:crypto';
import { Agent, request, type Dispatcher } from 'undici';
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

/** An answer read whole: the catalog's answers and the files the control plane fetches are small. */
interface Answer {
  status: number;
  ok: boolean;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}
/** undici's raw header list (name, value, name, value …) by lower-case name; a repeated header keeps its first value. */
function headerMap(raw: Buffer[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toString('latin1').toLowerCase();
    out[name] ??= raw[i + 1].toString('latin1');
  }
  return out;
}
const header = (a: Answer, name: string): string | null => {
  const v = a.headers[name];
  return v === undefined ? null : Array.isArray(v) ? v[0] : v;
};

/**
 * The typed wire client of Modrinth's v2 API. GETs go through the Redis cache (fresh answers
 * served, stale ones revalidated with If-None-Match) and identical GETs in flight share one
 * request. 429 and 5xx become RemoteUnavailableError carrying Modrinth's Retry-After
 * (X-Ratelimit-Reset when that is all it sent); other failures are ProviderError.
 */
export class ModrinthClient {
  private readonly inFlight = new Map<string, Promise<unknown>>();
  /** Keep-alive connections to the catalog, shared by every call of this client. */
  private readonly dispatcher: Dispatcher;

  constructor(private readonly options: ModrinthClientOptions, private readonly cache: CatalogCache, private readonly now: () => number = Date.now) {
    this.dispatcher = new Agent({ connections: 256, headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs });
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }

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
    const res = await this.send(operation, this.url(path, {}), 'POST', { 'Content-Type': 'application/json' }, JSON.stringify(body));
    if (!res.ok) throw this.failure(operation, res);
    return this.parse(operation, schema, this.json(operation, res.body, res.status));
  }

  /** Downloads a file the catalog listed and checks its sha512 (the control plane reads modpack indexes this way). */
  async download(url: string, sha512: string, size: number): Promise<Buffer> {
    if (size > this.options.maxFileBytes) {
      throw new ProviderError(REMOTE, 'download', `the file is ${size} bytes, above the ${this.options.maxFileBytes} bytes the control plane fetches`, { reason: 'too_large' });
    }
    const res = await this.send('download', url, 'GET', {});
    if (!res.ok) throw this.failure('download', res);
    const bytes = res.body;
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
      return this.json(operation, cached.body);
    }
    const headers: Record<string, string> = cached?.etag ? { 'If-None-Match': cached.etag } : {};
    const res = await this.send(operation, url, 'GET', headers);
    if (res.status === 304 && cached) {
      this.cache.stats.revalidated++;
      this.cache.put(url, { ...cached, checkedAt: now });
      return this.json(operation, cached.body);
    }
    if (res.status === 404) return null;
    if (!res.ok) throw this.failure(operation, res);
    const body = this.json(operation, res.body, res.status);
    this.cache.stats.misses++;
    // Written behind the answer: the caller does not wait for Redis, and Modrinth's bytes are kept as they came.
    this.cache.put(url, { etag: header(res, 'etag'), body: res.body, checkedAt: now });
    return body;
  }

  private async send(operation: string, url: string, method: 'GET' | 'POST', headers: Record<string, string>, body?: string): Promise<Answer> {
    const all = { 'user-agent': this.options.userAgent, accept: 'application/json', ...headers };
    try {
      // The catalog's own answers take the lean path; files (a CDN) may redirect.
      if (operation !== 'download') return await this.exchange(url, method, all, body);
      const res = await request(url, { method, body, dispatcher: this.dispatcher, signal: AbortSignal.timeout(this.options.timeoutMs), maxRedirections: 3, headers: all });
      const bytes = Buffer.from(await res.body.arrayBuffer());
      return { status: res.statusCode, ok: res.statusCode >= 200 && res.statusCode < 300, headers: res.headers, body: bytes };
    } catch (err) {
      const e = err as Error & { code?: string };
      const reason = e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' ? `no answer within ${this.options.timeoutMs} ms` : (e.code ?? e.message);
      throw new RemoteUnavailableError(REMOTE, operation, this.options.unavailableRetrySeconds, { reason });
    }
  }

  /**
   * One request on the keep-alive pool, its answer gathered whole by a bare dispatch handler: no
   * response stream, abort signal or redirect wrapper per call, which on a burst of searches cost
   * more than parsing the answers. The deadline covers the whole exchange, queueing included.
   */
  private exchange(url: string, method: 'GET' | 'POST', headers: Record<string, string>, body?: string): Promise<Answer> {
    const target = new URL(url);
    const timeoutMs = this.options.timeoutMs;
    return new Promise<Answer>((resolve, reject) => {
      let abort: ((err: Error) => void) | undefined;
      let expired: Error | undefined;
      let status = 0;
      let raw: Buffer[] = [];
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => {
        expired = Object.assign(new Error(`no answer within ${timeoutMs} ms`), { name: 'TimeoutError' });
        abort?.(expired);
        reject(expired);
      }, timeoutMs);
      this.dispatcher.dispatch({ origin: target.origin, path: `${target.pathname}${target.search}`, method, headers, body }, {
        onConnect: (a: (err: Error) => void) => {
          if (expired) a(expired);
          else abort = a;
        },
        onHeaders: (statusCode: number, rawHeaders: Buffer[]) => {
          // 1xx answers are interim; the final one follows.
          if (statusCode >= 200) {
            status = statusCode;
            raw = rawHeaders;
          }
          return true;
        },
        onData: (chunk: Buffer) => {
          chunks.push(chunk);
          return true;
        },
        onComplete: () => {
          clearTimeout(timer);
          resolve({ status, ok: status >= 200 && status < 300, headers: headerMap(raw), body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks) });
        },
        onError: (err: Error) => {
          clearTimeout(timer);
          reject(err);
        },
      });
    });
  }

  private json(operation: string, bytes: Buffer, status = 200): unknown {
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new ProviderError(REMOTE, operation, 'the answer is not JSON', { status });
    }
  }

  private failure(operation: string, res: Answer): Error {
    const text = res.body.toString('utf8');
    if (res.status === 429 || res.status >= 500) {
      const retry = Number(header(res, 'retry-after') ?? header(res, 'x-ratelimit-reset'));
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
