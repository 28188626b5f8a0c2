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
 * handed out in chunks that end at arbitrary points (never inside a character); input echoed and
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

  /** Output of the process, to every socket (or one: a replay for a new reader). */
  write(text: string, only?: WebSocket): void {
    for (const part of this.chunks(text)) this.send({ type: 'output', data: part }, only);
  }

  send(frame: ConsoleAgentFrame, only?: WebSocket): void {
    const text = JSON.stringify(frame);
    for (const socket of only ? [only] : this.sockets) if (socket.readyState === socket.OPEN) socket.send(text);
  }

  /** Ends every console: the process behind them is gone, so they see nothing more. */
  closeAll(code: number, reason: string): void {
    for (const socket of this.sockets) socket.close(code, reason);
    this.sockets.clear();
  }

  /** Drops every console at once, without a closing handshake: the container itself is going away. */
  dispose(): void {
    for (const socket of this.sockets) socket.terminate();
    this.sockets.clear();
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

  /** Two pieces split at a point that moves with every write, as reads of a PTY fall. */
  private chunks(text: string): string[] {
    const chars = [...text];
    if (chars.length < 2) return [text];
    const at = 1 + ((this.writes++ * 7) % (chars.length - 1));
    return [chars.slice(0, at).join(''), chars.slice(at).join('')];
  }
}

function parse(text: string | undefined): PtyRequest | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed = ptyRequest.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
