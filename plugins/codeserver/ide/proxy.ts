import { Agent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { pipeline } from 'node:stream';
import type { Context } from 'koa';
import { WebSocket } from 'ws';
import { ZpackError } from '../../../kernel/api';
import { withoutIdeCookie } from './credentials';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and our own credentials never cross the proxy. */
const DROPPED = new Set(['connection', 'keep-alive', 'expect', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'authorization', 'cookie']);
const DROPPED_WS = new Set([...DROPPED, 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-protocol', 'origin']);

function forwardHeaders(headers: IncomingHttpHeaders, dropped: Set<string>, host: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!dropped.has(name) && value !== undefined) out[name] = value;
  const cookie = withoutIdeCookie(headers.cookie);
  if (cookie) out.cookie = cookie;
  out['x-forwarded-host'] = host;
  return out;
}

/** An upstream failure as our own error: nothing of code-server's transport errors reaches the browser. */
function upstreamError(err: NodeJS.ErrnoException, timedOut: boolean): ZpackError {
  if (timedOut) return new ZpackError('upstream_timeout', 504, 'code-server did not answer in time');
  const reason = err.code === 'ECONNREFUSED' ? 'code-server is not running' : 'code-server could not be reached';
  return new ZpackError('agent_error', 502, reason, { agent: { reason: err.code ?? 'unreachable' } });
}

/**
 * Forwards HTTP and WebSockets to one container's code-server. The upstream base comes from the
 * database (the caller's `base`), never from the request: only the path and query travel.
 */
export class CodeServerProxy {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 });

  constructor(private readonly timeoutMs: number) {}

  /** Streams the request to `base` + `path` and the answer back, both bodies unbuffered. */
  async forward(koa: Context, base: string, path: string): Promise<void> {
    const target = new URL(joinPath(base, path));
    const req = koa.req;
    const upstream = await new Promise<IncomingMessage>((resolve, reject) => {
      let timedOut = false;
      const out = httpRequest({
        agent: this.agent, method: req.method, hostname: target.hostname, port: target.port, path: target.pathname + target.search,
        headers: { ...forwardHeaders(req.headers, DROPPED, koa.get('host')), host: target.host },
      }, resolve);
      out.setTimeout(this.timeoutMs, () => {
        timedOut = true;
        out.destroy(new Error('timeout'));
      });
      out.on('error', (err) => reject(upstreamError(err, timedOut)));
      const bodiless = req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined;
      if (bodiless) out.end();
      else pipeline(req, out, () => undefined);
    });
    // Written raw: koa steps aside, but its status stays true for the request log and metrics.
    koa.status = upstream.statusCode ?? 502;
    koa.respond = false;
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(upstream.headers)) if (!DROPPED.has(name) && value !== undefined) headers[name] = value;
    koa.res.writeHead(upstream.statusCode ?? 502, headers);
    pipeline(upstream, koa.res, () => undefined);
  }

  /** Opens the upstream socket first, so a dead code-server is a clean HTTP refusal, not a 101 then a close. */
  connect(base: string, path: string, req: IncomingMessage): Promise<WebSocket> {
    const target = new URL(joinPath(base, path));
    target.protocol = target.protocol === 'https:' ? 'wss:' : 'ws:';
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(target, { headers: forwardHeaders(req.headers, DROPPED_WS, String(req.headers.host ?? '')) as Record<string, string>, handshakeTimeout: this.timeoutMs, perMessageDeflate: false });
      socket.once('open', () => resolve(socket));
      socket.once('unexpected-response', (_r, res) => {
        socket.terminate();
        reject(new ZpackError('agent_error', 502, `code-server refused the WebSocket (${res.statusCode})`, { agent: { status: res.statusCode } }));
      });
      socket.once('error', (err) => reject(upstreamError(err as NodeJS.ErrnoException, /timeout/i.test(err.message))));
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Joins both sockets message by message; either closing closes the other. */
export function bridgeSockets(client: WebSocket, upstream: WebSocket): void {
  client.on('message', (data, isBinary) => {
    if (upstream.readyState === upstream.OPEN) upstream.send(data, { binary: isBinary });
  });
  upstream.on('message', (data, isBinary) => {
    if (client.readyState === client.OPEN) client.send(data, { binary: isBinary });
  });
  client.once('close', () => upstream.close());
  upstream.once('close', () => { if (client.readyState === client.OPEN) client.close(1011, 'code-server closed'); });
  client.on('error', () => upstream.terminate());
  upstream.on('error', () => client.terminate());
}

/** `base` may carry a path (the simulator's per-container prefix); `path` is the request's path and query. */
function joinPath(base: string, path: string): string {
  return base.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`);
}
