import type { WebSocket } from 'ws';
import type { ConsoleServerFrame } from '../../../kernel/api';
import { eventually } from './fixture';

type FrameOf<T extends ConsoleServerFrame['type']> = Extract<ConsoleServerFrame, { type: T }>;

/**
 * What a zpack.console.v1 reader sees, as a terminal would: every frame in order, and the output
 * chunks joined back into one stream, read as lines once their CRLF has arrived.
 */
export class ConsoleTranscript {
  readonly frames: ConsoleServerFrame[] = [];
  /** Every output frame's data, in order: the PTY stream. */
  readonly chunks: string[] = [];

  constructor(socket: WebSocket) {
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ConsoleServerFrame;
      this.frames.push(frame);
      if (frame.type === 'output') this.chunks.push(frame.data);
    });
  }

  get output(): string {
    return this.chunks.join('');
  }

  /** Complete lines of output, without their CRLF; a line still arriving is not one yet. */
  get lines(): string[] {
    return this.output.split('\r\n').slice(0, -1);
  }

  of<T extends ConsoleServerFrame['type']>(type: T): Array<FrameOf<T>> {
    return this.frames.filter((f): f is FrameOf<T> => f.type === type);
  }

  async line(wanted: string | RegExp, timeoutMs = 3000): Promise<string> {
    const test = (l: string) => (typeof wanted === 'string' ? l === wanted : wanted.test(l));
    return eventually(async () => this.lines.find(test), timeoutMs);
  }

  /** The `count`-th frame of a type (1 = the first), waiting for it. */
  async frame<T extends ConsoleServerFrame['type']>(type: T, count = 1, timeoutMs = 3000): Promise<FrameOf<T>> {
    return eventually(async () => this.of(type)[count - 1], timeoutMs);
  }
}
