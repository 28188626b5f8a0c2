import type { RequestListener } from 'node:http';
import { inject as injectRequest } from 'light-my-request';
import type { ResponseContract } from './contract';

export interface TestResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as-is, with the given content type (or none). */
  raw?: string | Buffer;
  token?: string;
  headers?: Record<string, string>;
}

/** One request as it goes on the wire: method, path with query, headers, body. */
export interface OutgoingRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}
type Transport = (request: OutgoingRequest) => Promise<{ status: number; headers: Headers; text: string }>;

/**
 * A small HTTP client for tests: real sockets against the kernel's ephemeral port, or, built
 * with `TestClient.inProcess`, requests injected straight into the kernel's request listener.
 */
export class TestClient {
  private readonly transport: Transport;

  /**
   * With a `contract`, every answer is checked against the kernel's OpenAPI document (status
   * documented, body matching its schema) and a mismatch fails the request.
   */
  constructor(readonly baseUrl: string, private readonly defaultToken?: string, transport?: Transport, private readonly contract?: ResponseContract) {
    this.transport = transport ?? (async ({ method, path, headers, body }) => {
      const res = await fetch(this.baseUrl + path, { method, headers, body: body as any });
      return { status: res.status, headers: res.headers, text: await res.text() };
    });
  }

  /** A client that binds no port: each request runs through `listener` in this process. */
  static inProcess(listener: RequestListener, token?: string, contract?: ResponseContract): TestClient {
    return new TestClient('inject://kernel', token, (request) => inject(listener, request), contract);
  }

  as(token: string): TestClient {
    return new TestClient(this.baseUrl, token, this.transport, this.contract);
  }

  async request<T = any>(method: string, path: string, opts: RequestOptions = {}): Promise<TestResponse<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token ?? this.defaultToken;
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | Buffer | undefined;
    if (opts.raw !== undefined) body = opts.raw;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await this.transport({ method, path, headers, body });
    const broken = this.contract?.violation({ method, path, status: res.status, contentType: res.headers.get('content-type') ?? '', text: res.text });
    if (broken) throw new Error(`answer breaks the OpenAPI contract: ${broken}`);
    let parsed: any = res.text;
    if (res.headers.get('content-type')?.includes('json') && res.text) parsed = JSON.parse(res.text);
    return { status: res.status, headers: res.headers, body: parsed, text: res.text };
  }

  get<T = any>(path: string, opts?: RequestOptions) { return this.request<T>('GET', path, opts); }
  post<T = any>(path: string, body?: unknown, opts: RequestOptions = {}) { return this.request<T>('POST', path, { ...opts, body }); }
  put<T = any>(path: string, body?: unknown, opts: RequestOptions = {}) { return this.request<T>('PUT', path, { ...opts, body }); }
  patch<T = any>(path: string, body?: unknown, opts: RequestOptions = {}) { return this.request<T>('PATCH', path, { ...opts, body }); }
  delete<T = any>(path: string, opts?: RequestOptions) { return this.request<T>('DELETE', path, opts); }
}

/**
 * Runs one request through a Node request listener (the kernel's koa app) without a socket or
 * a port, the way Fastify's inject does; the answer comes back whole.
 */
export async function inject(listener: RequestListener, request: OutgoingRequest): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await injectRequest(listener, {
    method: request.method as 'GET', url: request.path, headers: request.headers, payload: request.body,
    remoteAddress: '127.0.0.1',
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, String(one));
  }
  return { status: res.statusCode, headers, text: res.payload };
}
