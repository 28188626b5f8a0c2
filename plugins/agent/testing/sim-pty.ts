import type { WebSocket } from 'ws';
import { consoleClientFrame } from '../../../kernel/api';
import type { ConsoleAgentFrame, ConsoleClientFrame } from '../../../kernel/api';
import { z } from 'zod';

/** What the console sockets may send: client frames, and the kernel's request for stats. */
const ptyRequest = z.union([consoleClientFrame, z.object({ type: z.literal('stats') })]);
type PtyRequest = z.infer<typeof ptyRequest>;

/** The process behind the terminal: what the line discipline hands it. */
export interface PtyProcess {
  /** A line entered at the terminal, without its line ending. */
  line(text: string): void;
  signal(name: Extract<ConsoleClientFrame, { type: 'signal' }>['name']): void;
  /** A socket asked for stats: the frames it is answered with. */
  stats(): ConsoleAgentFrame[];
}

/**
 * A pseudo-terminal as a real one behaves towards its readers: output with CRLF line endings,
 * read in chunks that end at arbitrary points (never inside a character); input echoed and
 * line-buffered (Enter is "\r" or "\n", backspace erases, Ctrl-C interrupts); a window size that
 * resize frames change. Every attached socket reads the same output, as a shared terminal.
 */
export class SimPty {
  cols = 80;
  rows = 24;
  private readonly sockets = new Set<WebSocket>();
  private typed = '';
  private afterCr = false;
  private writes = 0;
  /** Output written but not yet read off the PTY. */
  private unread = '';
  private reading?: NodeJS.Immediate;

  constructor(private readonly process: PtyProcess) {}

  get attached(): number {
    return this.sockets.size;
  }

  attach(socket: WebSocket): void {
    this.sockets.add(socket);
    socket.on('message', (data, isBinary) => this.receive(socket, isBinary ? undefined : String(data)));
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.terminate());
  }

  /**
   * Output of the process, to every socket, read off the PTY once per turn of the event loop as
   * a reader would: what was written meanwhile goes out together, cut in two at a moving point.
   * With `only`, a replay for a new reader, sent at once.
   */
  write(text: string, only?: WebSocket): void {
    if (only) return this.output(text, only);
    this.unread += text;
    if (!this.reading) this.reading = setImmediate(() => this.flush());
  }

  /** A control frame; the output written before it goes first, as a reader of the PTY sees it. */
  send(frame: ConsoleAgentFrame, only?: WebSocket): void {
    this.flush();
    const text = JSON.stringify(frame);
    for (const socket of only ? [only] : this.sockets) if (socket.readyState === socket.OPEN) socket.send(text);
  }

  /** Ends every console: the process behind them is gone, so they see nothing more. */
  closeAll(code: number, reason: string): void {
    this.flush();
    for (const socket of this.sockets) socket.close(code, reason);
    this.sockets.clear();
  }

  /** Drops every console at once, without a closing handshake: the container itself is going away. */
  dispose(): void {
    clearImmediate(this.reading);
    this.unread = '';
    for (const socket of this.sockets) socket.terminate();
    this.sockets.clear();
  }

  private flush(): void {
    clearImmediate(this.reading);
    this.reading = undefined;
    const text = this.unread;
    this.unread = '';
    if (text) this.output(text);
  }

  private output(text: string, only?: WebSocket): void {
    for (const part of this.chunks(text)) {
      const frame = JSON.stringify({ type: 'output', data: part } satisfies ConsoleAgentFrame);
      for (const socket of only ? [only] : this.sockets) if (socket.readyState === socket.OPEN) socket.send(frame);
    }
  }

  private receive(socket: WebSocket, text: string | undefined): void {
    const request = parse(text);
    if (!request) return this.send({ type: 'error', code: 'bad_frame', message: 'Expected a zpack.console.v1 frame' }, socket);
    switch (request.type) {
      case 'input':
        return this.type(request.data);
      case 'resize':
        this.cols = request.cols;
        this.rows = request.rows;
        return;
      case 'signal':
        return this.process.signal(request.name);
      case 'stats':
        for (const frame of this.process.stats()) this.send(frame, socket);
    }
  }

  /** The line discipline: echo what is typed, hand over each complete line. */
  private type(data: string): void {
    let echo = '';
    const flush = () => {
      if (echo) this.write(echo);
      echo = '';
    };
    for (const ch of data) {
      const crlf = this.afterCr && ch === '\n';
      this.afterCr = ch === '\r';
      if (crlf) continue;
      if (ch === '\r' || ch === '\n') {
        echo += '\r\n';
        flush();
        const line = this.typed;
        this.typed = '';
        this.process.line(line);
      } else if (ch === '\x7f' || ch === '\b') {
        if (!this.typed) continue;
        this.typed = [...this.typed].slice(0, -1).join('');
        echo += '\b \b';
      } else if (ch === '\x03') {
        this.typed = '';
        echo += '^C\r\n';
        flush();
        this.process.signal('SIGINT');
      } else if (ch >= ' ') {
        this.typed += ch;
        echo += ch;
      }
    }
    flush();
  }

  /** Two pieces split at a point that moves with every read, as reads of a PTY fall; never between a surrogate pair. */
  private chunks(text: string): string[] {
    if (text.length < 2) return [text];
    let at = 1 + ((this.writes++ * 7) % (text.length - 1));
    if (isLowSurrogate(text.charCodeAt(at))) at++;
    return at < text.length ? [text.slice(0, at), text.slice(at)] : [text];
  }
}

const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;

function parse(text: string | undefined): PtyRequest | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed = ptyRequest.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
