import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

export * from './simulator-faults';
export * from './simulator-state';

/**
 * The HTTP side every wire-level simulator in a plugin's `testing/` folder shares. Simulators run
 * inside zpack in the embedded default, so one bad request must never take the process down:
 * bodies are bounded, malformed URLs and JSON are answered 400, and a throwing handler is answered
 * 500. Each simulator keeps its own wire format through `failure`.
 */

/** Bodies above this are refused unless a simulator sets its own limit. */
export const SIMULATOR_BODY_LIMIT_BYTES = 1024 * 1024;

export type SimulatorFailureCode = 'body_too_large' | 'invalid_json' | 'invalid_url' | 'internal';

/** A request the simulator refuses before (or instead of) its own routes. */
export class SimulatorRequestError extends Error {
  constructor(readonly status: number, readonly code: SimulatorFailureCode, message: string) {
    super(message);
    this.name = 'SimulatorRequestError';
  }
}

/** A JSON (or empty) answer; `reason` replaces the status line's text, as some remote APIs do. */
export interface SimulatorAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  reason?: string;
}

export interface LoopbackHttpOptions {
  /** Serves one request whose URL is known to decode; may throw (answered through `failure`). */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;
  /** The simulator's own error envelope for a failure answered here. */
  failure(error: SimulatorRequestError): SimulatorAnswer;
  /** WebSocket upgrades, for the simulators that take any; a throw destroys the socket. */
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void>;
}

/** One loopback HTTP server for a simulator: start and stop, and crash-proof request handling. */
export class LoopbackHttpServer {
  private server?: Server;

  constructor(private readonly options: LoopbackHttpOptions) {}

  /** Resolves with the origin, e.g. http://127.0.0.1:18577, and the bound port (0 picks a free one). */
  async listen(port = 0, host = '127.0.0.1'): Promise<{ origin: string; port: number }> {
    const server = http.createServer((req, res) => void this.serve(req, res));
    const { upgrade } = this.options;
    if (upgrade) server.on('upgrade', (req, socket: Duplex, head: Buffer) => void upgrade(req, socket, head).catch(() => socket.destroy()));
    const bound = await listenOnLoopback(server, port, host);
    this.server = server;
    return bound;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await closeServer(server);
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.options.handle(req, res, requestUrl(req));
    } catch (err) {
      const failure = err instanceof SimulatorRequestError ? err : new SimulatorRequestError(500, 'internal', (err as Error)?.message ?? String(err));
      try {
        sendSimulatorAnswer(res, this.options.failure(failure));
      } catch {
        res.destroy();
      }
      // Headers were already out: the answer cannot change any more, only stop.
      if (!res.writableEnded) res.destroy();
    }
  }
}

/**
 * A simulator's start and stop on loopback: `url` is its API base (origin + `basePath`) once
 * started, and a start after a stop listens on the same port again, as a restarted system would.
 */
export abstract class LoopbackSimulator {
  url = '';
  private readonly server = new LoopbackHttpServer({
    handle: (req, res, url) => this.handle(req, res, url),
    failure: (err) => this.failure(err),
  });
  private port: number;

  constructor(private readonly where: { host?: string; port?: number }, private readonly basePath = '') {
    this.port = where.port ?? 0;
  }

  /** Listens (port 0 picks a free one); resolves with the API base URL. */
  async start(): Promise<string> {
    const { origin, port } = await this.server.listen(this.port, this.where.host);
    this.port = port;
    this.url = `${origin}${this.basePath}`;
    return this.url;
  }

  async stop(): Promise<void> {
    await this.server.close();
  }

  /** Serves one request (see LoopbackHttpOptions.handle). */
  protected abstract handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;
  /** The simulator's own envelope for what the shared request handling refuses. */
  protected abstract failure(error: SimulatorRequestError): SimulatorAnswer;
}

/** The request URL, refused with 400 when its path holds a percent-escape that does not decode. */
export function requestUrl(req: IncomingMessage): URL {
  const url = new URL(req.url ?? '/', 'http://simulator.invalid');
  try {
    decodeURIComponent(url.pathname);
  } catch {
    throw new SimulatorRequestError(400, 'invalid_url', 'the request path holds a malformed percent-escape');
  }
  return url;
}

/**
 * The whole body, or 413 once it passes `limitBytes`. The rest of an oversized body is drained,
 * not cut off, so the client still reads the answer.
 */
export function readBoundedBody(req: IncomingMessage, limitBytes = SIMULATOR_BODY_LIMIT_BYTES): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (outcome: () => void) => {
      req.off('data', onData).off('end', onEnd).off('error', onGone).off('close', onGone);
      outcome();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limitBytes) return void chunks.push(chunk);
      settle(() => reject(new SimulatorRequestError(413, 'body_too_large', `the body exceeds ${limitBytes} bytes`)));
      req.resume();
    };
    const onEnd = () => settle(() => resolve(Buffer.concat(chunks)));
    // Nobody is left to answer; the server's catch finds the response gone and stays silent.
    const onGone = () => settle(() => reject(new Error('the client went away mid-body')));
    if (req.readableEnded) return resolve(Buffer.alloc(0));
    req.on('data', onData).on('end', onEnd).on('error', onGone).on('close', onGone);
  });
}

/** An empty body is `undefined`; anything that is not JSON is refused with 400. */
export function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new SimulatorRequestError(400, 'invalid_json', 'the body is not valid JSON');
  }
}

/** Sends a JSON answer (an undefined body sends none); a response already sent or gone is left alone. */
export function sendSimulatorAnswer(res: ServerResponse, answer: SimulatorAnswer): void {
  if (res.destroyed || res.headersSent) return;
  const json = answer.body === undefined ? '' : JSON.stringify(answer.body);
  const headers = answer.body === undefined ? { ...answer.headers } : { 'Content-Type': 'application/json', ...answer.headers, 'Content-Length': String(Buffer.byteLength(json)) };
  // A status line takes printable ASCII only; anything else would make writeHead throw.
  const reason = (answer.reason ?? http.STATUS_CODES[answer.status] ?? '').replace(/[^\x20-\x7e]/g, ' ');
  res.writeHead(answer.status, reason, headers);
  res.end(json);
}

/** Cuts the connection without an answer (a fault); a socket already gone is left alone. */
export function dropConnection(req: IncomingMessage): void {
  // The socket is detached (null) once the request is over, whatever its type says.
  (req.socket as Duplex | null)?.destroy();
}

/** Listens on loopback (port 0 = a free one). */
async function listenOnLoopback(server: Server, port = 0, host = '127.0.0.1'): Promise<{ origin: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { address, port: bound } = server.address() as AddressInfo;
  return { origin: `http://${address.includes(':') ? `[${address}]` : address}:${bound}`, port: bound };
}

/** Stops without waiting for idle keep-alive clients. */
function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
