import { Agent, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { InvalidRequestError, ZpackError } from '../../../kernel/api';
import type { RawRequest } from '../../../kernel/api';
import { IDE_COOKIE, withoutIdeCookie } from './credentials';

/** Hop-by-hop headers (RFC 9110 §7.6.1), our own credentials and the Host (re-set) never cross the proxy. */
const DROPPED = new Set(['connection', 'keep-alive', 'expect', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'authorization', 'cookie', 'x-forwarded-host']);
const DROPPED_CHUNKED = new Set([...DROPPED, 'content-length']);
/** A WebSocket's handshake fields travel (its bytes are piped as they are); its Origin, checked here, does not. */
const DROPPED_WS = new Set([...DROPPED, 'origin']);
/** What of code-server's 101 the client gets: the handshake's own fields. */
const HANDSHAKE_ANSWER = new Set(['sec-websocket-accept', 'sec-websocket-protocol', 'sec-websocket-extensions']);
const WS_KEY = /^[+/0-9A-Za-z]{22}==$/;

/** Where a container's code-server listens, parsed once per base URL. */
export interface Upstream {
  hostname: string;
  port: string;
  /** host[:port], for the Host header code-server sees. */
  host: string;
  /** The base's path without its trailing slash (the simulator's per-container prefix), or ''. */
  prefix: string;
}

/** The headers for code-server in one pass over rawHeaders: dropped ones and those the Connection header names left out. */
function forwardHeaders(raw: readonly string[], dropped: ReadonlySet<string>, upstreamHost: string, clientHost: string): string[] {
  const out = ['Host', upstreamHost];
  let named: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name === 'connection') named = raw[i + 1].toLowerCase().split(',').map((t) => t.trim());
    if (name === 'cookie') {
      const value = raw[i + 1].includes(`${IDE_COOKIE}=`) ? withoutIdeCookie(raw[i + 1]) : raw[i + 1];
      if (value) out.push(raw[i], value);
    } else if (!dropped.has(name)) out.push(raw[i], raw[i + 1]);
  }
  out.push('X-Forwarded-Host', clientHost);
  return named && named.some((t) => !dropped.has(t)) ? dropNamed(out, new Set(named)) : out;
}

function dropNamed(headers: string[], names: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (i === 0 || !names.has(headers[i].toLowerCase())) out.push(headers[i], headers[i + 1]);
  return out;
}

/** code-server's answer headers for the client: hop-by-hop ones left out (Node frames the body itself). */
function answerHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (!DROPPED.has(raw[i].toLowerCase())) out.push(raw[i], raw[i + 1]);
  return out;
}

/** An upstream failure as our own error: nothing of code-server's transport errors reaches the browser. */
function upstreamError(err: NodeJS.ErrnoException, timedOut: boolean): ZpackError {
  if (timedOut) return new ZpackError('upstream_timeout', 504, 'code-server did not answer in time');
  const reason = err.code === 'ECONNREFUSED' ? 'code-server is not running' : 'code-server could not be reached';
  return new ZpackError('agent_error', 502, reason, { agent: { reason: err.code ?? 'unreachable' } });
}

/**
 * code-server's answer body to the client, as it comes. What arrives in one turn of the event loop
 * leaves in one write: a small answer's last chunk and the end of a chunked body (which arrive a
 * tick apart) share a syscall instead of taking one each.
 */
function relay(answer: IncomingMessage, res: ServerResponse): void {
  let corked = false;
  const uncork = () => {
    corked = false;
    res.uncork();
  };
  answer.on('data', (chunk: Buffer) => {
    if (!corked) {
      corked = true;
      res.cork();
      setImmediate(uncork);
    }
    if (!res.write(chunk)) answer.pause();
  });
  res.on('drain', () => answer.resume());
  answer.once('end', () => res.end());
  answer.once('error', () => res.destroy());
}

/** code-server's side of a WebSocket after its 101: the socket, what came after the 101, and the 101's handshake fields. */
export interface UpstreamSocket {
  socket: Duplex;
  head: Buffer;
  handshake: string[];
}

/**
 * Forwards HTTP and WebSockets to one container's code-server. The upstream comes from the
 * database (the caller's `Upstream`), never from the request: only the path and query travel.
 * Bodies and sockets are piped, never buffered or re-framed.
 */
export class CodeServerProxy {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, noDelay: true });
  private readonly upstreams = new Map<string, Upstream>();

  constructor(private readonly timeoutMs: number) {}

  /** `base` may carry a path (the simulator's per-container prefix). */
  upstream(base: string): Upstream {
    let found = this.upstreams.get(base);
    if (!found) {
      const url = new URL(base);
      found = { hostname: url.hostname, port: url.port, host: url.host, prefix: url.pathname.replace(/\/+$/, '') };
      if (this.upstreams.size > 10_000) this.upstreams.clear();
      this.upstreams.set(base, found);
    }
    return found;
  }

  /**
   * Streams the request to code-server and its answer back. Resolves once the answer has begun;
   * rejects (502 / 504) when code-server cannot be reached or says nothing within the deadline.
   */
  forward(request: RawRequest, upstream: Upstream, path: string, clientHost: string): Promise<void> {
    const { req, res } = request;
    const chunked = req.headers['transfer-encoding'] !== undefined;
    // A chunked body is re-chunked by Node: a Content-Length beside it would frame it twice (smuggling).
    const headers = forwardHeaders(req.rawHeaders, chunked ? DROPPED_CHUNKED : DROPPED, upstream.host, clientHost);
    if (chunked) headers.push('Transfer-Encoding', 'chunked');
    return new Promise((resolve, reject) => {
      let timedOut = false;
      let answered = false;
      const out = httpRequest({ agent: this.agent, method: req.method, hostname: upstream.hostname, port: upstream.port, path: upstream.prefix + path, headers }, (answer) => {
        answered = true;
        // The deadline is for the first answer byte; a long download or poll may take its time.
        out.setTimeout(0);
        request.writeHead(answer.statusCode ?? 502, answerHeaders(answer.rawHeaders));
        relay(answer, res);
        resolve();
      });
      out.setTimeout(this.timeoutMs, () => {
        timedOut = true;
        out.destroy(new Error('timeout'));
      });
      out.on('error', (err) => (answered ? res.destroy() : reject(upstreamError(err, timedOut))));
      // The client gone before its answer ended: code-server's side goes too.
      res.once('close', () => {
        if (!res.writableFinished) out.destroy();
      });
      if (chunked || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0')) req.pipe(out);
      else out.end();
    });
  }

  /**
   * Opens code-server's side of a WebSocket with the client's own handshake, before the client gets
   * its 101: a dead code-server is a clean HTTP refusal, not a 101 then a close.
   */
  connect(upstream: Upstream, path: string, req: IncomingMessage, clientHost: string): Promise<UpstreamSocket> {
    const key = req.headers['sec-websocket-key'];
    if (req.method !== 'GET' || req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string' || !WS_KEY.test(key) || req.headers['sec-websocket-version'] !== '13') {
      throw new InvalidRequestError('Not a WebSocket handshake (RFC 6455, version 13)');
    }
    const headers = forwardHeaders(req.rawHeaders, DROPPED_WS, upstream.host, clientHost);
    headers.push('Connection', 'Upgrade', 'Upgrade', 'websocket');
    return new Promise((resolve, reject) => {
      let timedOut = false;
      const out = httpRequest({ agent: false, method: 'GET', hostname: upstream.hostname, port: upstream.port, path: upstream.prefix + path, headers });
      out.setTimeout(this.timeoutMs, () => {
        timedOut = true;
        out.destroy(new Error('timeout'));
      });
      out.once('upgrade', (answer, socket, head) => {
        socket.setTimeout(0);
        const handshake: string[] = [];
        for (let i = 0; i < answer.rawHeaders.length; i += 2) if (HANDSHAKE_ANSWER.has(answer.rawHeaders[i].toLowerCase())) handshake.push(answer.rawHeaders[i], answer.rawHeaders[i + 1]);
        resolve({ socket, head, handshake });
      });
      out.once('response', (answer) => {
        answer.resume();
        out.destroy();
        reject(new ZpackError('agent_error', 502, `code-server refused the WebSocket (${answer.statusCode})`, { agent: { status: answer.statusCode } }));
      });
      out.on('error', (err) => reject(upstreamError(err, timedOut)));
      out.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
