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

/** A small HTTP client for tests: real sockets against the kernel's ephemeral port. */
export class TestClient {
  constructor(readonly baseUrl: string, private readonly defaultToken?: string) {}

  as(token: string): TestClient {
    return new TestClient(this.baseUrl, token);
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
    const res = await fetch(this.baseUrl + path, { method, headers, body: body as any });
    const text = await res.text();
    let parsed: any = text;
    if (res.headers.get('content-type')?.includes('json') && text) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed, text };
  }

  get<T = any>(path: string, opts?: RequestOptions) { return this.request<T>('GET', path, opts); }
  post<T = any>(path: string, body?: unknown, opts: RequestOptions = {}) { return this.request<T>('POST', path, { ...opts, body }); }
  put<T = any>(path: string, body?: unknown, opts: RequestOptions = {}) { return this.request<T>('PUT', path, { ...opts, body }); }
  patch<T = any>(path: string, body?: unknown, opts: RequestOptions = {}) { return this.request<T>('PATCH', path, { ...opts, body }); }
  delete<T = any>(path: string, opts?: RequestOptions) { return this.request<T>('DELETE', path, opts); }
}
