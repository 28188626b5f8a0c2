import net from 'node:net';
import {
  decodeHandshake, encodePacket, encodeString, FrameDecoder, NextState, PacketId, type Handshake,
} from './minecraft-protocol';

/**
 * A stand-in game server for the proxy's own tests: it answers a status ping with its motd and
 * records the handshakes it was sent (what the proxy relayed). A login is told to go away.
 */
export class StatusServer {
  readonly handshakes: Handshake[] = [];
  port = 0;
  private readonly server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
  private readonly sockets = new Set<net.Socket>();

  constructor(readonly motd: string, private readonly host = '127.0.0.1') {}

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, this.host, () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const decoder = new FrameDecoder();
    let handshake: Handshake | undefined;
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const packet of decoder.push(chunk)) {
          if (!handshake) {
            handshake = decodeHandshake(packet);
            this.handshakes.push(handshake);
            if (handshake.nextState !== NextState.status) {
              socket.end(encodePacket(PacketId.loginDisconnect, encodeString(JSON.stringify({ text: `${this.motd}: no joining` }))));
            }
          } else if (packet.id === PacketId.statusRequest) {
            const status = { version: { name: '1.21.4', protocol: handshake.protocolVersion }, players: { max: 20, online: 0 }, description: { text: this.motd } };
            socket.write(encodePacket(PacketId.statusResponse, encodeString(JSON.stringify(status))));
          } else if (packet.id === PacketId.pingRequest) {
            socket.end(encodePacket(PacketId.pongResponse, packet.data));
          }
        }
      } catch {
        socket.destroy();
      }
    });
  }
}
