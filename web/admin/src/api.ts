/**
 * The console's only way out: the public HTTP API, with the operator's own session (the same
 * login as the portal). Tokens live in sessionStorage, so closing the tab signs out.
 */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

const KEY = 'zpack.admin.session';
interface Session { accessToken: string; refreshToken: string; email: string }
type Listener = () => void;
const listeners = new Set<Listener>();

export const session = {
  get(): Session | null {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  },
  set(s: Session | null): void {
    if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
    else sessionStorage.removeItem(KEY);
    listeners.forEach((l) => l());
  },
  subscribe(l: Listener): () => void {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};

async function failure(res: Response): Promise<ApiError> {
  const body = await res.json().catch(() => null);
  return new ApiError(res.status, body?.error?.code ?? 'error', body?.error?.message ?? res.statusText);
}

let refreshing: Promise<boolean> | null = null;
async function refresh(): Promise<boolean> {
  const s = session.get();
  if (!s) return false;
  refreshing ??= fetch('/api/auth/refresh', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: s.refreshToken }),
  }).then(async (res) => {
    if (!res.ok) return false;
    const body = await res.json();
    session.set({ ...s, accessToken: body.accessToken, refreshToken: body.refreshToken });
    return true;
  }).finally(() => { refreshing = null; });
  return refreshing;
}

/** A request with the session's bearer token; one refresh on 401, then the sign-in page. */
export async function request(path: string, init: RequestInit = {}, retried = false): Promise<Response> {
  const s = session.get();
  const headers = new Headers(init.headers);
  if (s) headers.set('authorization', `Bearer ${s.accessToken}`);
  if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
  const res = await fetch(path, { ...init, headers });
  if (res.status === 401 && s && !retried) {
    if (await refresh()) return request(path, init, true);
    session.set(null);
  }
  return res;
}

/** GETs started before the page that reads them has rendered, each handed out once. */
const early = new Map<string, Promise<unknown>>();

/**
 * Starts a GET now, at load, instead of in the page's effect (which runs only after the first
 * frame is painted); the page's own `api(path)` then takes this request over.
 */
export function prefetch(path: string): void {
  if (early.has(path)) return;
  const pending = api(path);
  // Nobody may ask for it (the operator navigated away): its failure is the page's to show, not an unhandled rejection.
  pending.catch(() => undefined);
  early.set(path, pending);
}

export async function api<T = any>(path: string, init: RequestInit = {}): Promise<T> {
  const started = !init.method && !init.body ? early.get(path) : undefined;
  if (started) {
    early.delete(path);
    return started as Promise<T>;
  }
  const res = await request(path, init);
  if (!res.ok) throw await failure(res);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

export const post = <T = any>(path: string, body?: unknown) => api<T>(path, { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body) });
export const patch = <T = any>(path: string, body: unknown) => api<T>(path, { method: 'PATCH', body: JSON.stringify(body) });

export async function signIn(email: string, password: string): Promise<void> {
  const res = await fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  if (!res.ok) throw await failure(res);
  const body = await res.json();
  if (body.user?.role !== 'admin') {
    await fetch('/api/auth/logout', { method: 'POST', headers: { authorization: `Bearer ${body.accessToken}` } });
    throw new ApiError(403, 'forbidden', 'This console is for operators (admin role).');
  }
  session.set({ accessToken: body.accessToken, refreshToken: body.refreshToken, email: body.user.email });
}

export async function signOut(): Promise<void> {
  await request('/api/auth/logout', { method: 'POST' }).catch(() => undefined);
  session.set(null);
}

/**
 * Server-sent events over fetch (EventSource cannot send the bearer token). Reconnects after a
 * drop until `signal` aborts.
 */
export async function events(path: string, onEvent: (event: string, data: any) => void, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const res = await request(path, { signal, headers: { accept: 'text/event-stream' } });
      if (!res.ok || !res.body) throw await failure(res);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length) onEvent(event, JSON.parse(data.join('\n')));
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}
