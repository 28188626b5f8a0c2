import { expect } from 'chai';
import {
  decodeHandshake, decodeVarInt, encodeHandshake, encodeLong, encodePacket, encodeString, encodeVarInt, FrameDecoder, MAX_PACKET_BYTES,
  NextState, Packet, ProtocolError, virtualHost,
} from './minecraft-protocol';

const hex = (buf: Buffer) => buf.toString('hex');

describe('Minecraft protocol codec', () => {
  describe('VarInt', () => {
    // The sample values of wiki.vg's VarInt table, the boundaries of each length among them.
    const samples: Array<[number, string]> = [
      [0, '00'], [1, '01'], [2, '02'], [127, '7f'], [128, '8001'], [255, 'ff01'], [25565, 'ddc701'], [2097151, 'ffff7f'],
      [2097152, '80808001'], [268435455, 'ffffff7f'], [268435456, '8080808001'], [2147483647, 'ffffffff07'],
      [-1, 'ffffffff0f'], [-2147483648, '8080808008'],
    ];

    it('encodes and decodes the boundary values of each length', () => {
      for (const [value, bytes] of samples) {
        expect(hex(encodeVarInt(value)), String(value)).to.equal(bytes);
        expect(decodeVarInt(Buffer.from(bytes, 'hex')), bytes).to.deep.equal({ value, size: bytes.length / 2 });
      }
    });

    it('reads at an offset and leaves what follows', () => {
      expect(decodeVarInt(Buffer.from('aaddc70199', 'hex'), 1)).to.deep.equal({ value: 25565, size: 3 });
    });

    it('answers null while the VarInt is incomplete', () => {
      expect(decodeVarInt(Buffer.alloc(0))).to.equal(null);
      expect(decodeVarInt(Buffer.from('ddc7', 'hex'))).to.equal(null);
      expect(decodeVarInt(Buffer.from('ffffffff', 'hex'))).to.equal(null);
    });

    it('refuses a VarInt longer than 5 bytes, and numbers that are no int32', () => {
      expect(() => decodeVarInt(Buffer.from('ffffffffff01', 'hex'))).to.throw(ProtocolError, /longer than 5 bytes/);
      expect(() => encodeVarInt(2 ** 31)).to.throw(RangeError);
      expect(() => encodeVarInt(-(2 ** 31) - 1)).to.throw(RangeError);
      expect(() => encodeVarInt(1.5)).to.throw(RangeError);
    });
  });

  describe('strings', () => {
    it('prefixes the UTF-8 bytes with their count', () => {
      expect(hex(encodeString('mc'))).to.equal('026d63');
      const text = 'Überlebenswelt ⛏';
      const encoded = encodeString(text);
      expect(decodeVarInt(encoded)?.value).to.equal(Buffer.byteLength(text));
      expect(new Packet(0, encoded).string()).to.equal(text);
    });

    it('refuses a string over its limit, on both sides', () => {
      expect(() => encodeString('x'.repeat(256), 255)).to.throw(RangeError, /at most 255/);
      expect(() => new Packet(0, encodeString('x'.repeat(256))).string(255)).to.throw(ProtocolError, /at most 255/);
      // A length prefix larger than any String(255) can be is refused before the bytes are looked at.
      expect(() => new Packet(0, Buffer.concat([encodeVarInt(1000), Buffer.alloc(1000)])).string(255)).to.throw(ProtocolError, /at most 765/);
    });

    it('refuses a string whose bytes are not UTF-8, or shorter than announced', () => {
      expect(() => new Packet(0, Buffer.from('02c328', 'hex')).string()).to.throw(ProtocolError, /UTF-8/);
      expect(() => new Packet(0, Buffer.from('056d63', 'hex')).string()).to.throw(ProtocolError, /shorter/);
    });
  });

  describe('frames', () => {
    const handshake = { protocolVersion: 769, serverAddress: 'mc-5001.play.example.test', serverPort: 25565, nextState: NextState.status };

    it('round-trips a handshake, and frames it as length, id, fields', () => {
      const frame = encodeHandshake(handshake);
      expect(decodeVarInt(frame)?.value).to.equal(frame.length - 1);
      expect(frame[1]).to.equal(0x00);
      const [packet] = new FrameDecoder().push(frame);
      expect(decodeHandshake(packet)).to.deep.equal(handshake);
    });

    it('reassembles frames split anywhere, byte by byte', () => {
      const stream = Buffer.concat([encodeHandshake(handshake), encodePacket(0x00), encodePacket(0x01, encodeLong(42n))]);
      const decoder = new FrameDecoder();
      const packets: Packet[] = [];
      for (const byte of stream) {
        const done = decoder.push(Buffer.from([byte]));
        packets.push(...done);
      }
      expect(packets.map((p) => p.id)).to.deep.equal([0x00, 0x00, 0x01]);
      expect(decodeHandshake(packets[0])).to.deep.equal(handshake);
      expect(packets[1].data.length).to.equal(0);
      expect(packets[2].long()).to.equal(42n);
      expect(decoder.remainder().length).to.equal(0);
    });

    it('yields every packet a chunk completes, and keeps a partial one for the next chunk', () => {
      const second = encodePacket(0x01, encodeLong(7n));
      const decoder = new FrameDecoder();
      const first = decoder.push(Buffer.concat([encodeHandshake(handshake), encodePacket(0x00), second.subarray(0, 4)]));
      expect(first.map((p) => p.id)).to.deep.equal([0x00, 0x00]);
      expect(hex(decoder.remainder())).to.equal(hex(second.subarray(0, 4)));
      const rest = decoder.push(second.subarray(4));
      expect(rest).to.have.length(1);
      expect(rest[0].long()).to.equal(7n);
    });

    it('refuses an oversized frame from its length alone, before its body arrives', () => {
      const decoder = new FrameDecoder(1024);
      expect(() => decoder.push(encodeVarInt(1025))).to.throw(ProtocolError, /1025 bytes, at most 1024/);
      expect(() => new FrameDecoder().push(encodeVarInt(MAX_PACKET_BYTES + 1))).to.throw(ProtocolError);
      expect(() => encodePacket(0x00, Buffer.alloc(MAX_PACKET_BYTES))).to.throw(RangeError);
    });

    it('refuses an empty frame and a length prefix longer than 3 bytes', () => {
      expect(() => new FrameDecoder().push(Buffer.from('00', 'hex'))).to.throw(ProtocolError, /frame of 0 bytes/);
      expect(() => new FrameDecoder().push(Buffer.from('ffffff', 'hex'))).to.throw(ProtocolError, /longer than 3 bytes/);
    });

    it('refuses a handshake with bytes too many, a wrong id, or an unknown next state', () => {
      const extra = encodePacket(0x00, encodeVarInt(769), encodeString('a.test'), Buffer.from('63dd', 'hex'), encodeVarInt(1), Buffer.from('00', 'hex'));
      expect(() => decodeHandshake(new FrameDecoder().push(extra)[0])).to.throw(ProtocolError, /too many/);
      expect(() => decodeHandshake(new FrameDecoder().push(encodePacket(0x01))[0])).to.throw(ProtocolError, /expected a handshake/);
      const state9 = encodePacket(0x00, encodeVarInt(769), encodeString('a.test'), Buffer.from('63dd', 'hex'), encodeVarInt(9));
      expect(() => decodeHandshake(new FrameDecoder().push(state9)[0])).to.throw(ProtocolError, /state 9/);
    });
  });

  it('cleans the virtual host as Velocity does: Forge markers, the trailing dot and case', () => {
    expect(virtualHost('MC-5001.Play.Example.Test.')).to.equal('mc-5001.play.example.test');
    expect(virtualHost('mc-5001.play.example.test\0FML3\0')).to.equal('mc-5001.play.example.test');
  });
});
