import net from 'node:net';

/**
 * The few parts of the Minecraft Java Edition protocol a proxy needs before it knows where to
 * send a player (wiki.vg "Protocol", "Server List Ping"): VarInt-framed packets, the handshake
 * with the address the client typed, and the status exchange. Uncompressed and unencrypted, as
 * every connection is until login.
 */

/** A frame's length prefix is at most 3 bytes long, so no packet is longer than this. */
export const MAX_PACKET_BYTES = 2_097_151;
/** A VarInt holds an int32 in at most 5 bytes. */
export const MAX_VARINT_BYTES = 5;
/** The handshake's server address is a String(255). */
export const MAX_SERVER_ADDRESS_CHARS = 255;
/** Strings are at most 32767 characters unless the packet says less. */
export const MAX_STRING_CHARS = 32_767;

export const NextState = { status: 1, login: 2, transfer: 3 } as const;
export type NextStateValue = (typeof NextState)[keyof typeof NextState];

/** Packet ids of the states before play. */
export const PacketId = {
  handshake: 0x00,
  statusRequest: 0x00,
  statusResponse: 0x00,
  pingRequest: 0x01,
  pongResponse: 0x01,
  loginStart: 0x00,
  loginDisconnect: 0x00,
} as const;

/** Protocol number of 1.21.4, the version the simulated servers run. */
export const PROTOCOL_1_21_4 = 769;

/** Bytes that break the protocol: a peer sending them is disconnected. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export function encodeVarInt(value: number): Buffer {
  if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0x7fff_ffff) throw new RangeError(`${value} is not an int32`);
  const bytes: number[] = [];
  let rest = value >>> 0; // negative numbers take all five bytes, as two's complement
  do {
    let byte = rest & 0x7f;
    rest >>>= 7;
    if (rest !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (rest !== 0);
  return Buffer.from(bytes);
}

/** The VarInt at `offset` and its size in bytes, or null when the buffer ends inside it. */
export function decodeVarInt(buf: Buffer, offset = 0): { value: number; size: number } | null {
  let value = 0;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    if (offset + i >= buf.length) return null;
    const byte = buf[offset + i];
    value |= (byte & 0x7f) << (7 * i);
    if ((byte & 0x80) === 0) return { value: value | 0, size: i + 1 };
  }
  throw new ProtocolError(`VarInt longer than ${MAX_VARINT_BYTES} bytes`);
}

export function encodeString(text: string, maxChars = MAX_STRING_CHARS): Buffer {
  // The limit counts UTF-16 code units, as Java's String#length does.
  if (text.length > maxChars) throw new RangeError(`string of ${text.length} characters, at most ${maxChars}`);
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([encodeVarInt(bytes.length), bytes]);
}

export function encodeUnsignedShort(value: number): Buffer {
  const buf = Buffer.alloc(2);
  buf.writeUInt16BE(value);
  return buf;
}

export function encodeLong(value: bigint): Buffer {
  const buf = Buffer.alloc(8);
  buf.writeBigInt64BE(value);
  return buf;
}

/** One frame: VarInt length, then the VarInt packet id and the fields. */
export function encodePacket(id: number, ...fields: Buffer[]): Buffer {
  const body = Buffer.concat([encodeVarInt(id), ...fields]);
  if (body.length > MAX_PACKET_BYTES) throw new RangeError(`packet of ${body.length} bytes, at most ${MAX_PACKET_BYTES}`);
  return Buffer.concat([encodeVarInt(body.length), body]);
}

/** A received packet: its id and a cursor over its fields. */
export class Packet {
  private offset = 0;

  constructor(readonly id: number, readonly data: Buffer) {}

  varInt(): number {
    const read = decodeVarInt(this.data, this.offset);
    if (!read) throw new ProtocolError(`packet 0x${this.id.toString(16)} ends inside a VarInt`);
    this.offset += read.size;
    return read.value;
  }

  string(maxChars = MAX_STRING_CHARS): string {
    const bytes = this.varInt();
    // A UTF-16 code unit takes at most 3 bytes of UTF-8.
    if (bytes < 0 || bytes > maxChars * 3) throw new ProtocolError(`string of ${bytes} bytes, at most ${maxChars * 3}`);
    const raw = this.take(bytes);
    const text = raw.toString('utf8');
    if (!Buffer.from(text, 'utf8').equals(raw)) throw new ProtocolError('string is not valid UTF-8');
    if (text.length > maxChars) throw new ProtocolError(`string of ${text.length} characters, at most ${maxChars}`);
    return text;
  }

  unsignedShort(): number {
    return this.take(2).readUInt16BE();
  }

  long(): bigint {
    return this.take(8).readBigInt64BE();
  }

  /** Refuses bytes left over: a packet is read whole or not understood. */
  end(): void {
    if (this.offset !== this.data.length) throw new ProtocolError(`packet 0x${this.id.toString(16)} has ${this.data.length - this.offset} bytes too many`);
  }

  private take(n: number): Buffer {
    if (this.offset + n > this.data.length) throw new ProtocolError(`packet 0x${this.id.toString(16)} is shorter than its fields`);
    const slice = this.data.subarray(this.offset, this.offset + n);
    this.offset += n;
    return slice;
  }
}

/**
 * Cuts a byte stream into packets: frames may arrive split anywhere or several in one chunk.
 * A frame announcing more than `maxPacketBytes` (or none) is refused before its body is waited for.
 */
export class FrameDecoder {
  private buffered: Buffer = Buffer.alloc(0);

  constructor(private readonly maxPacketBytes = MAX_PACKET_BYTES) {}

  /** The complete packets the chunk finishes, in order; throws ProtocolError on a malformed frame. */
  push(chunk: Buffer): Packet[] {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const packets: Packet[] = [];
    for (;;) {
      const length = decodeVarInt(this.buffered);
      if (!length) {
        if (this.buffered.length >= 3) throw new ProtocolError('frame length longer than 3 bytes');
        break;
      }
      if (length.value <= 0) throw new ProtocolError(`frame of ${length.value} bytes`);
      if (length.value > this.maxPacketBytes) throw new ProtocolError(`frame of ${length.value} bytes, at most ${this.maxPacketBytes}`);
      if (this.buffered.length < length.size + length.value) break;
      const frame = this.buffered.subarray(length.size, length.size + length.value);
      this.buffered = this.buffered.subarray(length.size + length.value);
      const id = decodeVarInt(frame);
      if (!id) throw new ProtocolError('frame ends inside its packet id');
      packets.push(new Packet(id.value, frame.subarray(id.size)));
    }
    return packets;
  }

  /** Bytes received after the last complete packet (handed on when a proxy starts relaying). */
  remainder(): Buffer {
    return this.buffered;
  }
}

export interface Handshake {
  protocolVersion: number;
  /** What the player typed (the host name, not the SRV target), possibly with a trailing dot or Forge's \0 marker. */
  serverAddress: string;
  serverPort: number;
  nextState: NextStateValue;
}

export function encodeHandshake(h: Handshake): Buffer {
  return encodePacket(PacketId.handshake, encodeVarInt(h.protocolVersion), encodeString(h.serverAddress, MAX_SERVER_ADDRESS_CHARS),
    encodeUnsignedShort(h.serverPort), encodeVarInt(h.nextState));
}

export function decodeHandshake(packet: Packet): Handshake {
  if (packet.id !== PacketId.handshake) throw new ProtocolError(`expected a handshake, got packet 0x${packet.id.toString(16)}`);
  const protocolVersion = packet.varInt();
  const serverAddress = packet.string(MAX_SERVER_ADDRESS_CHARS);
  const serverPort = packet.unsignedShort();
  const nextState = packet.varInt();
  packet.end();
  if (nextState !== NextState.status && nextState !== NextState.login && nextState !== NextState.transfer) {
    throw new ProtocolError(`handshake asks for state ${nextState}`);
  }
  return { protocolVersion, serverAddress, serverPort, nextState };
}

/**
 * The host a proxy routes by, as Velocity cleans it: Forge and other mods append `\0…` markers,
 * clients may send the fully-qualified name with its trailing dot, and DNS names ignore case.
 */
export function virtualHost(serverAddress: string): string {
  return serverAddress.split('\0')[0].replace(/\.$/, '').toLowerCase();
}

/** The status JSON a server answers (only the fields the tests read are typed). */
export interface ServerStatus {
  version: { name: string; protocol: number };
  players: { max: number; online: number };
  description: { text: string } | string;
  [field: string]: unknown;
}

export const motdOf = (status: ServerStatus): string => (typeof status.description === 'string' ? status.description : status.description.text);

export interface StatusQuery {
  /** Where to connect (the proxy). */
  host: string;
  port: number;
  /** The address the player typed, sent in the handshake. */
  serverAddress: string;
  serverPort?: number;
  protocolVersion?: number;
  timeoutMs?: number;
}

/** What a status query got: the server's status and the round trip of its ping, or how the connection ended. */
export type StatusOutcome =
  | { ok: true; status: ServerStatus; latencyMs: number }
  | { ok: false; reason: 'closed' | 'refused' | 'timeout'; detail: string };

/**
 * Plays a client's server-list ping: handshake (next state status), status request, ping with
 * a payload the pong must echo. Resolves with the status, or with how the server ended it
 * (closing without an answer is what a proxy does to a host it does not route).
 */
export function queryStatus(query: StatusQuery): Promise<StatusOutcome> {
  const { host, port, serverAddress, serverPort = 25565, protocolVersion = PROTOCOL_1_21_4, timeoutMs = 5000 } = query;
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, noDelay: true });
    const decoder = new FrameDecoder();
    const payload = BigInt(Date.now());
    let status: ServerStatus | undefined;
    let sentAt = 0;
    let done = false;
    const finish = (outcome: StatusOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ ok: false, reason: 'timeout', detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
    socket.on('connect', () => {
      socket.write(Buffer.concat([
        encodeHandshake({ protocolVersion, serverAddress, serverPort, nextState: NextState.status }),
        encodePacket(PacketId.statusRequest),
      ]));
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const packet of decoder.push(chunk)) {
          if (!status && packet.id === PacketId.statusResponse) {
            const json = packet.string();
            packet.end();
            status = JSON.parse(json) as ServerStatus;
            sentAt = performance.now();
            socket.write(encodePacket(PacketId.pingRequest, encodeLong(payload)));
          } else if (status && packet.id === PacketId.pongResponse) {
            const echoed = packet.long();
            packet.end();
            if (echoed !== payload) throw new ProtocolError(`pong echoed ${echoed}, not ${payload}`);
            finish({ ok: true, status, latencyMs: performance.now() - sentAt });
          } else {
            throw new ProtocolError(`unexpected packet 0x${packet.id.toString(16)}`);
          }
        }
      } catch (err) {
        finish({ ok: false, reason: 'closed', detail: (err as Error).message });
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, reason: err.code === 'ECONNREFUSED' ? 'refused' : 'closed', detail: err.message }));
    socket.on('close', () => finish({ ok: false, reason: 'closed', detail: status ? 'closed before the pong' : 'closed before the status' }));
  });
}

/** How a login attempt ended before play: the server's disconnect reason, or a closed connection. */
export type LoginOutcome = { disconnected: true; reason: string } | { disconnected: false; detail: string };

/**
 * Starts a login (handshake with next state login, then Login Start with a name and UUID) and
 * reads the first answer: a Disconnect (login) says why the player may not join.
 */
export function attemptLogin(query: StatusQuery & { username?: string }): Promise<LoginOutcome> {
  const { host, port, serverAddress, serverPort = 25565, protocolVersion = PROTOCOL_1_21_4, timeoutMs = 5000, username = 'Steve' } = query;
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, noDelay: true });
    const decoder = new FrameDecoder();
    let done = false;
    const finish = (outcome: LoginOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ disconnected: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
    socket.on('connect', () => {
      socket.write(Buffer.concat([
        encodeHandshake({ protocolVersion, serverAddress, serverPort, nextState: NextState.login }),
        encodePacket(PacketId.loginStart, encodeString(username, 16), Buffer.alloc(16)),
      ]));
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        const [packet] = decoder.push(chunk);
        if (!packet) return;
        if (packet.id !== PacketId.loginDisconnect) throw new ProtocolError(`unexpected login packet 0x${packet.id.toString(16)}`);
        const reason = JSON.parse(packet.string(262_144)) as { text?: string } | string;
        finish({ disconnected: true, reason: typeof reason === 'string' ? reason : reason.text ?? '' });
      } catch (err) {
        finish({ disconnected: false, detail: (err as Error).message });
      }
    });
    socket.on('error', (err) => finish({ disconnected: false, detail: err.message }));
    socket.on('close', () => finish({ disconnected: false, detail: 'closed without a disconnect message' }));
  });
}
