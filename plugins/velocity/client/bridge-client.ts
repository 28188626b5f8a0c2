import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ZodType } from 'zod';
import { BridgeError, isBridgeError } from './errors';
import { listAnswer, serverAnswer, type Backend, type BackendInput } from './wire';

export interface BridgeClientOptions {
  /** e.g. http://velocity:8577 */
  baseUrl: string;
  token: string;
  timeoutMs: number;
  /** Extra attempts on 5xx, timeouts and network errors. */
  retries: number;
  /** Connections kept open to the bridge (a resync sends this many calls at once). */
  maxSockets: number;
}

type Method = 'GET' | 'PUT' | 'DELETE';
interface WireResponse { status: number; body: unknown }

const RETRY_BACKOFF_MS = 50;

/** Typed client of the Velocity bridge plugin's HTTP API (see wire.ts). */
export class BridgeClient {
  private readonly base: string;
  // Keep-alive pays off in a resync; a reused socket the bridge just closed fails as 'network' and is retried.
  private readonly agent: http.Agent;

  constructor(private readonly options: BridgeClientOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets };
    this.agent = this.base.startsWith('https:') ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  }

  /** Adds the backend, or updates the one of that name (its forced hosts included: none when left out). */
  async register(server: BackendInput): Promise<Backend> {
    const path = `/servers/${encodeURIComponent(server.name)}`;
    const body = { address: server.address, port: server.port, forcedHosts: server.forcedHosts ?? [] };
    return (await this.call('register', 'PUT', path, serverAnswer, body)).server;
  }

  async unregister(name: string): Promise<'done' | 'already_gone'> {
    try {
      await this.call('unregister', 'DELETE', `/servers/${encodeURIComponent(name)}`);
      return 'done';
    } catch (err) {
      if (isBridgeError(err, 'unknown_server')) return 'already_gone';
      throw err;
    }
  }

  async list(): Promise<Backend[]> {
    return (await this.call('list', 'GET', '/servers', listAnswer)).servers;
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private async call<T>(operation: string, method: Method, path: string, schema?: ZodType<T>, body?: unknown): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(operation, method, path, schema, body);
      } catch (err) {
        if (attempt >= this.options.retries || !(err instanceof BridgeError) || !err.transient) throw err;
        await sleep(RETRY_BACKOFF_MS * 2 ** attempt);
      }
    }
  }

  private async once<T>(operation: string, method: Method, path: string, schema: ZodType<T> | undefined, body: unknown): Promise<T> {
    const url = new URL(this.base + path);
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    let res: WireResponse;
    try {
      res = await this.send(method, url, body === undefined ? undefined : JSON.stringify(body), signal);
    } catch (err) {
      if (signal.aborted) throw new BridgeError(operation, `no answer within ${this.options.timeoutMs} ms`, 'timeout', { url: url.href }, err);
      throw new BridgeError(operation, (err as Error).message, 'network', { url: url.href }, err);
    }
    if (res.status >= 400) throw BridgeError.fromResponse(operation, res.status, res.body);
    if (!schema) return undefined as T;
    const parsed = schema.safeParse(res.body);
    if (!parsed.success) {
      throw new BridgeError(operation, `unexpected answer: ${parsed.error.issues[0]?.message}`, 'bad_response', { status: res.status, body: res.body });
    }
    return parsed.data;
  }

  private send(method: Method, url: URL, body: string | undefined, signal: AbortSignal): Promise<WireResponse> {
    const headers: http.OutgoingHttpHeaders = { Authorization: `Bearer ${this.options.token}`, Accept: 'application/json' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const request: typeof https.request = url.protocol === 'https:' ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = request(url, { method, headers, signal, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('close', () => { if (!res.complete) reject(new Error('connection closed before the answer was complete')); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: parseJson(Buffer.concat(chunks)) }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }
}

function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return raw.toString('utf8');
  }
}
