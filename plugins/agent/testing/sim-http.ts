import { timingSafeEqual } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { pipeline, type Duplex } from 'node:stream';
import type { SimAnswer, SimReply } from './routes';

const CONTAINER_PATH = /^\/ct\/(\d+)(\/[^?]*)?/;

/** Where a request is going: container {vmid}, the agent path under it, and the query. */
export interface SimTarget {
  vmid: number;
  path: string;
  query: URLSearchParams;
}

export function targetOf(url: string | undefined): SimTarget | undefined {
  const match = CONTAINER_PATH.exec(url ?? '');
  if (!match) return undefined;
  const query = new URL(url ?? '/', 'http://agent.invalid').searchParams;
  return { vmid: Number(match[1]), path: match[2] ?? '/', query };
}

export function reply(res: ServerResponse, answer: SimAnswer): void {
  if (res.destroyed || res.headersSent) return;
  if ('stream' in answer) {
    res.writeHead(answer.status, answer.headers);
    // A client that goes away mid-download just ends the stream; there is no one left to tell.
    pipeline(answer.stream, res, () => undefined);
    return;
  }
  const text = typeof answer.body === 'string';
  res.writeHead(answer.status, { 'content-type': text ? 'text/plain; charset=utf-8' : 'application/json' });
  res.end(text ? answer.body : JSON.stringify(answer.body));
}

/** Answers a WebSocket upgrade with a plain HTTP error, as a real server refusing the 101 does. */
export function refuseUpgrade(socket: Duplex, { status, body }: SimReply): void {
  const plain = typeof body === 'string';
  const text = plain ? body : JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: ${plain ? 'text/plain; charset=utf-8' : 'application/json'}\r\n`
    + `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

/** The WebSocket subprotocols an upgrade offers. */
export function offered(req: IncomingMessage): string[] {
  return String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
}

export function bearerOf(req: IncomingMessage): string | undefined {
  const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  return match?.[1];
}

/** Constant-time, as the real agent must be. */
export function sameToken(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
