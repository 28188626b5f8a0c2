import net from 'node:net';
import { Readable, type Writable } from 'node:stream';
import { AgentError } from '../../../kernel/api';
import type { AgentResponse } from '../../../kernel/api';
import type { StreamCall } from './stream';
import { joinAgentUrl } from './wire';

/** Bytes read from the agent per socket read; a relay holds at most IN_FLIGHT + 1 of them. */
const READ_BYTES = 256 * 1024;
const IN_FLIGHT = 3;
/** An agent's status line and headers fit in this, or the answer is refused. */
const HEAD_LIMIT = 64 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * GET of a file's bytes on a plain socket read into a few reused buffers. Through undici, every
 * 64 KiB read was a new ArrayBuffer: relaying a GiB made a GiB of garbage, and the collections
 * it forced cost the kernel more CPU than moving the bytes. `pipe` writes each buffer to the
 * client and reads into it again once that write is done; `body` (for any other reader, e.g. an
 * error's JSON) copies. HTTP/1.0, so the agent answers with a length or closes: never chunked.
 * The deadline is one of silence until the head is in, as for every streamed call.
 */
export function download(call: StreamCall): Promise<AgentResponse> {
  const { request, timeoutMs } = call;
  const url = new URL(joinAgentUrl(call.baseUrl, request.path));
  for (const [key, value] of Object.entries(request.query ?? {})) url.searchParams.set(key, value);
  const operation = `${request.method} ${request.path}`;

  return new Promise((resolve, reject) => {
    const free: Buffer[] = [];
    let head: Buffer | undefined = Buffer.alloc(0);
    let answer: Answer | undefined;
    const socket = net.connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 80),
      onread: {
        // Asked for after every read: always a buffer nobody holds (pause keeps their number bounded).
        buffer: () => free.pop() ?? Buffer.allocUnsafeSlow(READ_BYTES),
        callback: (bytes, chunk) => {
          // The buffer is one of ours (Node types it as the Uint8Array it accepts).
          const buffer = chunk as Buffer;
          const read = buffer.subarray(0, bytes);
          if (answer) return answer.take(read, buffer);
          head = Buffer.concat([head!, read]);
          free.push(buffer);
          const end = head.indexOf(HEAD_END);
          if (end < 0) {
            if (head.length <= HEAD_LIMIT) return true;
            fail('answer head too large');
            return false;
          }
          const parsed = parseHead(head.subarray(0, end).toString('latin1'));
          if (!parsed) {
            fail('malformed answer head');
            return false;
          }
          clearTimeout(silence);
          answer = new Answer(socket, parsed.length, free);
          // What came with the head is the body's start: copied, it is small.
          answer.early(Buffer.from(head.subarray(end + HEAD_END.length)));
          head = undefined;
          const taken = answer;
          let body: Readable | undefined;
          // The body is built only if read: a relay that pipes never copies.
          resolve({ status: parsed.status, headers: parsed.headers, get body() { return (body ??= taken.readable()); }, pipe: (to) => taken.pipe(to) });
          return false;
        },
      },
    });
    const fail = (reason: string): void => {
      clearTimeout(silence);
      socket.destroy();
      reject(new AgentError(`agent ${operation} failed: ${reason}`, { status: 0, body: { reason } }));
    };
    const silence = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('error', (err: NodeJS.ErrnoException) => (answer ? answer.end(err) : fail(err.code ?? err.message)));
    // The agent closing is the end of an answer without a length (and a short one's failure).
    socket.once('end', () => (answer ? answer.end() : fail('closed before answering')));
    socket.once('close', () => (answer ? answer.end() : fail('closed before answering')));
    socket.setNoDelay(true);
    socket.write(`GET ${url.pathname}${url.search} HTTP/1.0\r\nHost: ${url.host}\r\nAuthorization: Bearer ${call.token}\r\nAccept: */*\r\n\r\n`);
  });
}

function parseHead(text: string): { status: number; headers: Record<string, string>; length?: number } | undefined {
  const [statusLine, ...lines] = text.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!status) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  if (headers['transfer-encoding']) return undefined;
  const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  if (length !== undefined && !Number.isSafeInteger(length)) return undefined;
  return { status: Number(status[1]), headers, length };
}

/** The body after the head: handed to one consumer, `pipe` (buffers reused) or `readable` (copies). */
class Answer {
  private consumer?: { write(read: Buffer, buffer: Buffer): boolean; end(err?: Error): void };
  private pending: Buffer[] = [];
  private remaining: number;
  private ended?: { err?: Error };

  constructor(private readonly socket: net.Socket, length: number | undefined, private readonly free: Buffer[]) {
    this.remaining = length ?? Infinity;
  }

  early(bytes: Buffer): void {
    if (bytes.length) this.pending.push(bytes);
    this.remaining -= bytes.length;
    if (this.remaining <= 0) this.finish();
  }

  /** One read of the body; false pauses the socket. */
  take(read: Buffer, buffer: Buffer): boolean {
    if (read.length > this.remaining) read = read.subarray(0, this.remaining);
    this.remaining -= read.length;
    const more = this.consumer!.write(read, buffer);
    if (this.remaining <= 0) {
      this.finish();
      return false;
    }
    return more;
  }

  end(err?: Error): void {
    if (this.ended) return;
    // A close before the promised length is a broken answer, not its end.
    const short = this.remaining !== Infinity && this.remaining > 0;
    this.ended = { err: err ?? (short ? new Error('agent closed the download early') : undefined) };
    this.consumer?.end(this.ended.err);
  }

  private finish(): void {
    this.remaining = 0;
    this.socket.destroy();
    this.end();
  }

  /** Writes the body to `to`, each read buffer reused once its write is done. */
  pipe(to: Writable): Promise<void> {
    return new Promise((resolve, reject) => {
      let inFlight = 0;
      let paused = true;
      let settled = false;
      const done = (err?: Error) => {
        if (settled) return;
        if (err) {
          settled = true;
          this.socket.destroy();
          to.destroy(err);
          return reject(err);
        }
        if (inFlight > 0) return;
        settled = true;
        to.end(resolve);
      };
      // The client left: the agent's connection goes too, and the relay ends with it.
      to.once('close', () => {
        this.socket.destroy();
        if (settled) return;
        settled = true;
        reject(new Error('client closed the download'));
      });
      to.once('error', (err) => done(err));
      this.consumer = {
        write: (read, buffer) => {
          inFlight++;
          to.write(read, (err) => {
            inFlight--;
            if (err) return;
            this.free.push(buffer);
            if (this.ended) return done(this.ended.err);
            if (paused && inFlight < IN_FLIGHT) {
              paused = false;
              this.socket.resume();
            }
          });
          paused = inFlight >= IN_FLIGHT;
          return !paused;
        },
        end: (err) => (err || inFlight === 0 ? done(err) : undefined),
      };
      for (const bytes of this.pending.splice(0)) to.write(bytes);
      if (this.ended) return done(this.ended.err);
      paused = false;
      this.socket.resume();
    });
  }

  /** The body as a stream of copies, for readers that keep what they read. */
  readable(): Readable {
    const out = new Readable({ read: () => this.socket.resume() });
    this.consumer = {
      write: (read, buffer) => {
        const more = out.push(Buffer.from(read));
        this.free.push(buffer);
        return more;
      },
      end: (err) => (err ? out.destroy(err) : out.push(null)),
    };
    for (const bytes of this.pending.splice(0)) out.push(bytes);
    if (this.ended) this.consumer.end(this.ended.err);
    return out;
  }
}
