import net from 'node:net';
import type { SimServerState } from './sim-container';

/**
 * The game port of a simulated Minecraft server: enough of the Java protocol (wiki.vg "Server
 * List Ping") that a client or a proxy can tell which server answered. Handshake, then status
 * (a JSON status whose description is the server's motd) and ping/pong; a login is refused
 * with a disconnect message, since nobody plays in a simulator. While the server is not
 * running, connections are closed unanswered.
 */

export interface SimGameServerOptions {
  host: string;
  port: number;
  /** Read on every connection. */
  state(): SimServerState;
  motd(): string;
  version(): string;
}

/** What a connection may send before the server answers: the handshake and a request are tiny. */
const MAX_FRAME_BYTES = 4096;
const MAX_PLAYERS = 20;

export class SimGameServer {
  /** Status requests answered, for tests. */
  statusAnswers = 0;
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly options: SimGameServerOptions) {}

  get port(): number {
    return this.options.port;
  }

  async listen(): Promise<void> {
    const server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(10_000, () => socket.destroy());
    if (this.options.state() !== 'running') return void socket.destroy();
    let buffered: Buffer = Buffer.alloc(0);
    let stage: 'handshake' | 'status' | 'login' = 'handshake';
    let protocol = 0;
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      try {
        for (let frame = takeFrame(); frame; frame = takeFrame()) {
          const reader = new Reader(frame);
          const id = reader.varInt();
          if (stage === 'handshake') {
            if (id !== 0x00) throw new Error('expected a handshake');
            protocol = reader.varInt();
            reader.string();
            reader.skip(2);
            const next = reader.varInt();
            stage = next === 1 ? 'status' : 'login';
            if (stage === 'login') return void socket.end(frameOf(0x00, stringField(JSON.stringify({ text: 'This server is simulated: nobody can join it.' }))));
          } else if (stage === 'status' && id === 0x00) {
            this.statusAnswers++;
            socket.write(frameOf(0x00, stringField(JSON.stringify(this.status(protocol)))));
          } else if (stage === 'status' && id === 0x01) {
            // The pong echoes the ping's 8-byte payload, then the server closes as vanilla does.
            return void socket.end(frameOf(0x01, reader.skip(8)));
          } else {
            throw new Error(`unexpected packet 0x${id.toString(16)}`);
          }
        }
      } catch {
        socket.destroy();
      }
    });

    /** The next complete frame's contents, or undefined until it has arrived. */
    function takeFrame(): Buffer | undefined {
      const length = new Reader(buffered).varIntOrNull();
      if (!length) return undefined;
      if (length.value <= 0 || length.value > MAX_FRAME_BYTES) throw new Error(`frame of ${length.value} bytes`);
      if (buffered.length < length.size + length.value) return undefined;
      const frame = buffered.subarray(length.size, length.size + length.value);
      buffered = buffered.subarray(length.size + length.value);
      return frame;
    }
  }

  private status(clientProtocol: number): Record<string, unknown> {
    return {
      // A server answers with its own version; the client's protocol number is echoed so no client shows it as incompatible.
      version: { name: this.options.version(), protocol: clientProtocol },
      players: { max: MAX_PLAYERS, online: 0, sample: [] },
      description: { text: this.options.motd() },
      enforcesSecureChat: false,
    };
  }
}

function varIntBytes(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value >>> 0;
  do {
    bytes.push((rest & 0x7f) | (rest > 0x7f ? 0x80 : 0));
    rest >>>= 7;
  } while (rest !== 0);
  return Buffer.from(bytes);
}

const stringField = (text: string): Buffer => {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([varIntBytes(bytes.length), bytes]);
};

function frameOf(id: number, ...fields: Buffer[]): Buffer {
  const body = Buffer.concat([varIntBytes(id), ...fields]);
  return Buffer.concat([varIntBytes(body.length), body]);
}

class Reader {
  private offset = 0;
  constructor(private readonly data: Buffer) {}

  varIntOrNull(): { value: number; size: number } | null {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      if (this.offset + i >= this.data.length) return null;
      const byte = this.data[this.offset + i];
      value |= (byte & 0x7f) << (7 * i);
      if (!(byte & 0x80)) {
        this.offset += i + 1;
        return { value: value | 0, size: i + 1 };
      }
    }
    throw new Error('VarInt too long');
  }

  varInt(): number {
    const read = this.varIntOrNull();
    if (!read) throw new Error('packet ends inside a VarInt');
    return read.value;
  }

  string(): string {
    const bytes = this.skip(this.varInt());
    return bytes.toString('utf8');
  }

  skip(n: number): Buffer {
    if (n < 0 || this.offset + n > this.data.length) throw new Error('packet shorter than its fields');
    const slice = this.data.subarray(this.offset, this.offset + n);
    this.offset += n;
    return slice;
  }
}

/**
 * A client's status ping, for this plugin's tests: handshake (next state status) and status
 * request; resolves with the status JSON, or null when the server closed without one.
 */
export function pingGamePort(host: string, port: number, serverAddress = host, timeoutMs = 3000): Promise<Record<string, any> | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, noDelay: true });
    let buffered: Buffer = Buffer.alloc(0);
    const finish = (status: Record<string, any> | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(status);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    socket.on('connect', () => {
      const portBytes = Buffer.alloc(2);
      portBytes.writeUInt16BE(25565);
      socket.write(Buffer.concat([frameOf(0x00, varIntBytes(769), stringField(serverAddress), portBytes, varIntBytes(1)), frameOf(0x00)]));
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      try {
        const reader = new Reader(buffered);
        const length = reader.varIntOrNull();
        if (!length || buffered.length < length.size + length.value) return;
        if (reader.varInt() !== 0x00) return finish(null);
        finish(JSON.parse(reader.string()) as Record<string, any>);
      } catch {
        finish(null);
      }
    });
    socket.on('error', () => finish(null));
    socket.on('close', () => finish(null));
  });
}
