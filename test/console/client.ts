import { WebSocket } from 'ws';

/** The Origin the console suites allow: the portal's. */
export const PORTAL = 'https://portal.zpack.test';

export interface Opened {
  ws?: WebSocket;
  status?: number;
  headers?: Record<string, string | string[] | undefined>;
  body?: any;
}

/** Opens a console the way a browser on the portal would (offering `protocols`); resolves with the socket, or with the refusal. */
export function connect(url: string, headers: Record<string, string> = { origin: PORTAL }, protocols: string[] = []): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : undefined }));
    });
    ws.once('error', reject);
  });
}

export function nextMessage(ws: WebSocket, match: RegExp, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message matching ${match} within ${timeoutMs} ms`)), timeoutMs);
    const on = (data: Buffer) => {
      const text = data.toString();
      if (!match.test(text)) return;
      clearTimeout(timer);
      ws.off('message', on);
      resolve(text);
    };
    ws.on('message', on);
  });
}

/** Resolves when the socket closes, with the time from this call. */
export function closed(ws: WebSocket): Promise<{ code: number; reason: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString(), ms: Date.now() - started })));
}
