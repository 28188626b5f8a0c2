import net from 'node:net';
import {
  decodeHandshake, encodePacket, encodeString, FrameDecoder, NextState, PacketId, ProtocolError, virtualHost, type Handshake,
} from './minecraft-protocol';

/** Where a proxy sends a player: a backend's address and game port. */
export interface PlayerRoute {
  name: string;
  address: string;
  port: number;
}

/** One player connection as the proxy saw it. */
export interface PlayerConnection {
  /** The address the client typed, as sent in the handshake. */
  serverAddress: string;
  /** The host routed by (virtualHost of serverAddress). */
  host: string;
  nextState: Handshake['nextState'];
  /** The backend it was sent to, or null when no backend has the host (the player was disconnected). */
  backend: string | null;
  at: Date;
}

export interface PlayerProxyOptions {
  host: string;
  /** 0 picks a free port (kept across restarts). */
  port: number;
  /** The backend whose forced hosts include the host, if any. */
  route(host: string): PlayerRoute | undefined;
  /** A client that has not sent its handshake by then is dropped. */
  handshakeTimeoutMs?: number;
}

/** A handshake is a few dozen bytes: nothing bigger is buffered before the player is routed. */
const PRE_ROUTING_PACKET_LIMIT = 1024;
const CONNECTIONS_LOG_LIMIT = 1000;
const BACKEND_CONNECT_TIMEOUT_MS = 5000;
const LEGACY_PING = 0xfe;

/**
 * The player side of the simulated Velocity proxy: it accepts Minecraft Java connections, reads
 * the handshake, and routes by the host name the player typed to the backend whose forced hosts
 * hold it, relaying the player's bytes unchanged from the handshake on (status, ping and login
 * alike). A host no backend has is refused as Velocity refuses a player it has no server for: a
 * login gets a disconnect message, a status ping gets the connection closed without an answer.
 */
export class PlayerProxy {
  readonly connections: PlayerConnection[] = [];
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private port: number;

  constructor(private readonly options: PlayerProxyOptions) {
    this.port = options.port;
  }

  /** Where players connect once started. */
  get address(): { host: string; port: number } {
    return { host: this.options.host, port: this.port };
  }

  async start(): Promise<void> {
    // As Velocity does: small packets go out at once (a status ping is a few round trips of tiny frames).
    const server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Drops every player and backend connection, as a stopping proxy does. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private track(socket: net.Socket): net.Socket {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    return socket;
  }

  private accept(client: net.Socket): void {
    this.track(client);
    client.setTimeout(this.options.handshakeTimeoutMs ?? 10_000, () => client.destroy());
    const decoder = new FrameDecoder(PRE_ROUTING_PACKET_LIMIT);
    const received: Buffer[] = [];
    const onData = (chunk: Buffer) => {
      // A legacy (pre-1.7) server list ping starts with 0xFE and is no frame: it is not spoken here.
      if (received.length === 0 && chunk[0] === LEGACY_PING) return void client.destroy();
      received.push(chunk);
      let handshake: Handshake;
      try {
        const [first] = decoder.push(chunk);
        if (!first) return;
        handshake = decodeHandshake(first);
      } catch (err) {
        if (err instanceof ProtocolError) client.destroy();
        return;
      }
      client.off('data', onData);
      client.pause();
      client.setTimeout(0);
      this.routePlayer(client, handshake, Buffer.concat(received));
    };
    client.on('data', onData);
  }

  private routePlayer(client: net.Socket, handshake: Handshake, received: Buffer): void {
    const host = virtualHost(handshake.serverAddress);
    const backend = this.options.route(host);
    this.log({ serverAddress: handshake.serverAddress, host, nextState: handshake.nextState, backend: backend?.name ?? null, at: new Date() });
    if (!backend) return this.refuse(client, handshake, `Unable to connect you to ${host}. No server of that name is available.`);
    const upstream = this.track(net.connect({ host: backend.address, port: backend.port, noDelay: true }));
    upstream.setTimeout(BACKEND_CONNECT_TIMEOUT_MS, () => upstream.destroy());
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      upstream.setTimeout(0);
      upstream.write(received);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.once('close', () => {
      if (!connected) this.refuse(client, handshake, `Unable to connect you to ${backend.name}. Please try again later.`);
      else client.end();
    });
    client.once('close', () => upstream.destroy());
  }

  /** A login learns why in a Disconnect (login) packet; a status ping just sees the connection close. */
  private refuse(client: net.Socket, handshake: Handshake, reason: string): void {
    if (handshake.nextState === NextState.status || client.destroyed) {
      client.destroy();
      return;
    }
    client.end(encodePacket(PacketId.loginDisconnect, encodeString(JSON.stringify({ text: reason }), 262_144)));
  }

  private log(entry: PlayerConnection): void {
    this.connections.push(entry);
    if (this.connections.length > CONNECTIONS_LOG_LIMIT) this.connections.splice(0, this.connections.length - CONNECTIONS_LOG_LIMIT);
  }
}
