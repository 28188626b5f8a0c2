import { expect } from 'chai';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { FrameBoundaries, PipedSocket, closeFrame } from './ide/socket-link';

/** A server-to-client frame: FIN, the opcode, the payload length in its shortest form, unmasked. */
function frame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | opcode, n]) : n < 65536 ? Buffer.from([0x80 | opcode, 126, n >> 8, n & 0xff]) : Buffer.alloc(10);
  if (n >= 65536) {
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    head.writeUInt32BE(n >>> 0, 6);
  }
  return Buffer.concat([head, payload]);
}

/** Two connected TCP sockets on loopback: [our end, the far end]. */
async function socketPair(server: Server): Promise<[Socket, Socket]> {
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const far = connect((server.address() as { port: number }).port, '127.0.0.1');
  await new Promise((resolve) => far.once('connect', resolve));
  return [await accepted, far];
}

/** Everything `socket` receives until it closes. */
function received(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve) => socket.once('close', () => resolve(Buffer.concat(chunks))));
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('codeserver: IDE sockets piped as bytes', () => {
  describe('FrameBoundaries', () => {
    it('finds the end of frames of every length form, masked or not, split anywhere across chunks', () => {
      const masked = Buffer.concat([Buffer.from([0x82, 0x80 | 3, 1, 2, 3, 4]), Buffer.from('abc')]);
      const stream = Buffer.concat([frame(0x1, Buffer.from('hi')), frame(0x2, Buffer.alloc(300, 1)), frame(0x2, Buffer.alloc(70_000, 2)), masked, frame(0x8, Buffer.alloc(0))]);
      for (const step of [1, 2, 3, 7, 1000, stream.length]) {
        const frames = new FrameBoundaries();
        const boundaries: number[] = [];
        for (let at = 0; at < stream.length; at += step) {
          const chunk = stream.subarray(at, at + step);
          for (let i = 0; i < chunk.length; i++) {
            frames.feed(chunk.subarray(i, i + 1));
            if (frames.atBoundary) boundaries.push(at + i + 1);
          }
        }
        expect(boundaries, `step ${step}`).to.deep.equal([4, 4 + 304, 4 + 304 + 70_010, 4 + 304 + 70_010 + 9, stream.length]);
        expect(frames.closeSeen).to.equal(true);
      }
    });

    it('with stop, answers the bytes up to the next boundary and no further', () => {
      const frames = new FrameBoundaries();
      const first = frame(0x2, Buffer.alloc(200, 1));
      expect(frames.feed(first.subarray(0, 50))).to.equal(50);
      const rest = Buffer.concat([first.subarray(50), frame(0x2, Buffer.alloc(10, 2))]);
      expect(frames.feed(rest, true)).to.equal(first.length - 50);
      expect(frames.atBoundary).to.equal(true);
      expect(frames.feed(rest.subarray(first.length - 50), true)).to.equal(0);
    });
  });

  describe('PipedSocket', () => {
    let server: Server;
    before(async () => {
      server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    after(() => server.close());

    it('pipes both ways as it is, and a close waits for code-server’s frame to end, then sends the close frame and ends both sides', async () => {
      const [clientSide, browser] = await socketPair(server);
      const [upstreamSide, codeServer] = await socketPair(server);
      const link = new PipedSocket(clientSide, upstreamSide);
      const toBrowser = received(browser);
      const toCodeServer = received(codeServer);
      let closed = false;
      link.onClose(() => (closed = true));
      link.start('HTTP/1.1 101 Switching Protocols\r\n\r\n', Buffer.alloc(0), Buffer.from('early'));
      browser.write('from the browser');

      const long = frame(0x2, Buffer.alloc(1000, 9));
      codeServer.write(long.subarray(0, 400));
      await settle();
      link.close(4401, 'session revoked');
      await settle();
      // Mid-frame: nothing of ours yet. The rest of that frame passes, the next frame does not.
      codeServer.write(Buffer.concat([long.subarray(400), frame(0x1, Buffer.from('never'))]));

      const bytes = await toBrowser;
      const expected = Buffer.concat([Buffer.from('HTTP/1.1 101 Switching Protocols\r\n\r\n'), long, closeFrame(4401, 'session revoked')]);
      expect(bytes.toString('hex')).to.equal(expected.toString('hex'));
      expect((await toCodeServer).toString()).to.equal('earlyfrom the browser');
      await settle();
      expect(closed).to.equal(true);
    });

    it('sends the close frame at once between frames, and a 1011 when code-server hangs up without one', async () => {
      const [clientA, browserA] = await socketPair(server);
      const [upstreamA, codeServerA] = await socketPair(server);
      const toBrowserA = received(browserA);
      const linkA = new PipedSocket(clientA, upstreamA);
      linkA.start('', Buffer.alloc(0), Buffer.alloc(0));
      codeServerA.write(frame(0x1, Buffer.from('whole')));
      await settle();
      linkA.close(4410, 'server deleted');
      expect((await toBrowserA).equals(Buffer.concat([frame(0x1, Buffer.from('whole')), closeFrame(4410, 'server deleted')]))).to.equal(true);

      const [clientB, browserB] = await socketPair(server);
      const [upstreamB, codeServerB] = await socketPair(server);
      const toBrowserB = received(browserB);
      new PipedSocket(clientB, upstreamB).start('', Buffer.alloc(0), Buffer.alloc(0));
      codeServerB.end();
      expect((await toBrowserB).equals(closeFrame(1011, 'code-server closed'))).to.equal(true);
    });

    it('keeps a close frame within 125 bytes, whatever the reason', () => {
      const frameOf = closeFrame(4401, 'é'.repeat(100));
      expect(frameOf.length).to.be.at.most(127);
      expect(frameOf[1]).to.equal(frameOf.length - 2);
      expect(frameOf.subarray(4).toString()).to.equal('é'.repeat(61));
    });
  });
});
