import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** Opcode of a WebSocket close frame (RFC 6455 §5.5.1). */
const CLOSE = 0x8;
/** How long a client may take to finish the close handshake before its connection is cut. */
const CLOSE_GRACE_MS = 5_000;
/** The longest a frame of code-server's may take to end before a close we owe the client is sent anyway (by cutting). */
const FRAME_END_MS = 5_000;

/**
 * Where code-server's frames end, read from their headers alone: payloads are never parsed,
 * unmasked or copied. This is what lets a close frame of ours go in between two of its frames.
 */
export class FrameBoundaries {
  /** Payload bytes left of the current frame. */
  private remaining = 0;
  /** Header bytes of the next frame read so far (a header may be split across chunks). */
  private readonly header = Buffer.alloc(14);
  private headerBytes = 0;
  /** code-server began a close frame of its own. */
  closeSeen = false;

  get atBoundary(): boolean {
    return this.remaining === 0 && this.headerBytes === 0;
  }

  /**
   * Reads `chunk`; answers how many of its bytes belong before the first boundary when `stop` is
   * set (0 when at one already), else all of them. Throws on a frame longer than 2^53 bytes.
   */
  feed(chunk: Buffer, stop = false): number {
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - i);
        this.remaining -= n;
        i += n;
        continue;
      }
      if (stop && this.headerBytes === 0) return i;
      this.header[this.headerBytes++] = chunk[i++];
      const length = this.headerBytes >= 2 ? headerLength(this.header) : 0;
      if (length && this.headerBytes === length) {
        this.remaining = payloadLength(this.header);
        if ((this.header[0] & 0x0f) === CLOSE) this.closeSeen = true;
        this.headerBytes = 0;
      }
    }
    return i;
  }
}

function headerLength(h: Buffer): number {
  const len7 = h[1] & 0x7f;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (h[1] & 0x80 ? 4 : 0);
}

function payloadLength(h: Buffer): number {
  const len7 = h[1] & 0x7f;
  if (len7 < 126) return len7;
  if (len7 === 126) return h.readUInt16BE(2);
  const high = h.readUInt32BE(2);
  if (high >= 2 ** 21) throw new Error('WebSocket frame longer than 2^53 bytes');
  return high * 2 ** 32 + h.readUInt32BE(6);
}

/** An unmasked close frame (server to client), the reason cut to fit a control frame's 125 bytes. */
export function closeFrame(code: number, reason: string): Buffer {
  let text = Buffer.from(reason);
  if (text.length > 123) text = Buffer.from(text.subarray(0, 123).toString().replace(/\uFFFD+$/, ''));
  const frame = Buffer.alloc(4 + text.length);
  frame[0] = 0x80 | CLOSE;
  frame[1] = 2 + text.length;
  frame.writeUInt16BE(code, 2);
  text.copy(frame, 4);
  return frame;
}

/** An open IDE connection as the gate sees it: closed with a code when its authority ends. */
export interface IdeConnection {
  close(code: number, reason: string): void;
  onClose(listener: () => void): void;
}

/**
 * One IDE WebSocket after its 101: the client's and code-server's sockets piped both ways, bytes
 * as they come. Only code-server's frame headers are read, so that a close of ours (session
 * revoked, account suspended, container deleted, cookie expired) reaches the client as a proper
 * close frame with its code, between two of code-server's frames.
 */
export class PipedSocket implements IdeConnection {
  private readonly frames = new FrameBoundaries();
  /** Our close frame, once a close is asked; sent at the next frame boundary. */
  private closing?: Buffer;
  private closed = false;
  /** Cuts the connection when a frame or the close handshake takes too long. */
  private deadline?: NodeJS.Timeout;
  private readonly listeners: Array<() => void> = [];

  constructor(private readonly client: Duplex, private readonly upstream: Duplex) {
    for (const s of [client, upstream]) (s as Socket).setNoDelay?.(true);
    upstream.on('data', (chunk: Buffer) => this.fromUpstream(chunk));
    client.on('drain', () => upstream.resume());
    client.pipe(upstream);
    upstream.on('end', () => this.upstreamEnded());
    client.on('error', () => this.cut());
    upstream.on('error', () => this.cut());
    client.once('close', () => this.gone());
    upstream.once('close', () => {
      if (!this.closing) this.upstreamEnded();
    });
  }

  /** Starts the exchange: the client's 101, what code-server sent after its own, what the client sent after its request. */
  start(answer: string, upstreamHead: Buffer, clientHead: Buffer): void {
    this.client.write(answer);
    if (upstreamHead.length) this.fromUpstream(upstreamHead);
    if (clientHead.length) this.upstream.write(clientHead);
    if ((this.client as Socket).destroyed) this.gone();
  }

  close(code: number, reason: string): void {
    if (this.closing || this.closed) return;
    this.closing = closeFrame(code, reason);
    // What the client sends from now on is read and dropped, so its side of the close handshake gets through.
    this.client.unpipe(this.upstream);
    this.client.resume();
    if (this.frames.atBoundary) return this.finish();
    this.upstream.resume();
    this.cutAfter(FRAME_END_MS);
  }

  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.listeners.push(listener);
  }

  private fromUpstream(chunk: Buffer): void {
    let n: number;
    try {
      n = this.frames.feed(chunk, !!this.closing);
    } catch {
      return this.cut();
    }
    if (!this.closing) {
      if (!this.client.write(chunk)) this.upstream.pause();
      return;
    }
    if (n) this.client.write(n === chunk.length ? chunk : chunk.subarray(0, n));
    if (this.frames.atBoundary) this.finish();
  }

  /** Our close frame, then the end of the client's connection; code-server's side goes at once. */
  private finish(): void {
    if (this.closed || (this.client as Socket).writableEnded) return;
    this.upstream.destroy();
    this.client.end(this.closing);
    this.cutAfter(CLOSE_GRACE_MS);
  }

  /** code-server hung up: after a close frame of its own the client just gets the end, else a 1011 first. */
  private upstreamEnded(): void {
    if (this.closing || (this.client as Socket).writableEnded) return;
    if (!this.frames.closeSeen && this.frames.atBoundary) {
      this.closing = closeFrame(1011, 'code-server closed');
      return this.finish();
    }
    this.client.end();
    this.cutAfter(CLOSE_GRACE_MS);
  }

  private cutAfter(ms: number): void {
    clearTimeout(this.deadline);
    this.deadline = setTimeout(() => this.cut(), ms);
    this.deadline.unref();
  }

  private cut(): void {
    this.client.destroy();
    this.upstream.destroy();
  }

  private gone(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.deadline);
    this.upstream.destroy();
    for (const listener of this.listeners.splice(0)) listener();
  }
}
