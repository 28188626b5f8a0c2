/** What one HTTP call answered. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

export interface CallOptions {
  body?: unknown;
  /** Sent as is (text/plain unless headers say otherwise), instead of a JSON body. */
  raw?: string;
  headers?: Record<string, string>;
}

/** One call to the API, the body read as JSON when it is JSON. */
export async function call(base: string, method: string, path: string, opts: CallOptions & { token?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.raw !== undefined) {
    headers['content-type'] ??= 'text/plain';
    body = opts.raw;
  } else if (opts.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(opts.body);
  }
  const res = await fetch(`${base}${path}`, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

/** A signed-in account of the deployment under test. */
export class Account {
  token = '';
  id = '';

  constructor(readonly base: string, readonly email: string, readonly password = 'a-long-e2e-password') {}

  /** POST /api/auth/register (unless `registered`), then /api/auth/login. */
  async signIn(registered = false): Promise<this> {
    const credentials = { email: this.email, password: this.password };
    if (!registered) {
      const reg = await call(this.base, 'POST', '/api/auth/register', { body: credentials });
      if (reg.status !== 201) throw new Error(`register ${this.email}: ${reg.status} ${reg.text}`);
    }
    const login = await call(this.base, 'POST', '/api/auth/login', { body: credentials });
    if (login.status !== 200) throw new Error(`login ${this.email}: ${login.status} ${login.text}`);
    this.token = login.body.accessToken;
    this.id = login.body.user.id;
    return this;
  }

  get = (path: string, opts: CallOptions = {}) => call(this.base, 'GET', path, { ...opts, token: this.token });
  post = (path: string, body?: unknown, opts: CallOptions = {}) => call(this.base, 'POST', path, { body, ...opts, token: this.token });
  put = (path: string, opts: CallOptions = {}) => call(this.base, 'PUT', path, { ...opts, token: this.token });
  delete = (path: string, opts: CallOptions = {}) => call(this.base, 'DELETE', path, { ...opts, token: this.token });

  /** Polls the operation until it is no longer queued or running. */
  async settle(operationId: string, timeoutMs = 90_000): Promise<any> {
    return until(`operation ${operationId}`, async () => {
      const op = (await this.get(`/api/operations/${operationId}`)).body;
      return op && op.state !== 'queued' && op.state !== 'running' ? op : undefined;
    }, timeoutMs);
  }
}

/** Polls `read` until it gives a truthy value; throws naming `what` past the timeout. */
export async function until<T>(what: string, read: () => Promise<T>, timeoutMs = 30_000, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
