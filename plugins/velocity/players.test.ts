import { expect } from 'chai';
import net from 'node:net';
import type { VelocityProxy } from './provider';
import { SimulatedBridge } from './testing/fixture';
import { attemptLogin, encodeVarInt, motdOf, queryStatus, type StatusOutcome } from './testing/minecraft-protocol';
import type { BridgeSimulator } from './testing/simulator';
import { StatusServer } from './testing/status-server';

const ZONE = 'play.example.test';

describe('the proxy simulator routes players by the host they typed', () => {
  const bridge = new SimulatedBridge();
  let sim: BridgeSimulator;
  let proxy: VelocityProxy;
  const alpha = new StatusServer('Alpha');
  const beta = new StatusServer('Beta');

  before(async () => {
    await Promise.all([bridge.start(), alpha.start(), beta.start()]);
    sim = bridge.simulator;
  });
  after(async () => {
    await bridge.stop();
    await Promise.all([alpha.stop(), beta.stop()]);
  });
  beforeEach(async () => {
    sim.reset();
    proxy = bridge.proxy();
    await proxy.register({ name: 'zp-5001', address: '127.0.0.1', port: alpha.port, forcedHosts: [`mc-5001.${ZONE}`] });
    await proxy.register({ name: 'zp-5002', address: '127.0.0.1', port: beta.port, forcedHosts: [`mc-5002.${ZONE}`] });
  });

  const ping = (serverAddress: string) => queryStatus({ ...sim.playerAddress, serverAddress, timeoutMs: 3000 });
  const motd = (outcome: StatusOutcome) => (outcome.ok ? motdOf(outcome.status) : `no answer: ${outcome.reason} (${outcome.detail})`);

  it('sends a status ping to the backend whose forced host was typed, and the other host to the other backend', async () => {
    expect(motd(await ping(`mc-5001.${ZONE}`))).to.equal('Alpha');
    expect(motd(await ping(`mc-5002.${ZONE}`))).to.equal('Beta');
    expect(sim.playerConnections.map((c) => [c.host, c.backend])).to.deep.equal([[`mc-5001.${ZONE}`, 'zp-5001'], [`mc-5002.${ZONE}`, 'zp-5002']]);
  });

  it('relays the handshake the player sent, unchanged, to the backend', async () => {
    alpha.handshakes.length = 0;
    const outcome = await queryStatus({ ...sim.playerAddress, serverAddress: `mc-5001.${ZONE}`, serverPort: 25577, protocolVersion: 767 });
    expect(outcome.ok).to.equal(true);
    expect(alpha.handshakes).to.deep.equal([{ protocolVersion: 767, serverAddress: `mc-5001.${ZONE}`, serverPort: 25577, nextState: 1 }]);
  });

  it('matches the host as Velocity cleans it: any case, a trailing dot, a Forge marker', async () => {
    for (const typed of [`MC-5002.Play.Example.Test`, `mc-5002.${ZONE}.`, `mc-5002.${ZONE}\0FML3\0`]) {
      expect(motd(await ping(typed)), JSON.stringify(typed)).to.equal('Beta');
    }
  });

  it('closes a status ping for a host no backend has, without an answer, and never reaches a backend', async () => {
    const before = alpha.handshakes.length + beta.handshakes.length;
    for (const typed of [`mc-5003.${ZONE}`, 'zp-5001', ZONE, `mc-5001.${ZONE}.evil.test`]) {
      const outcome = await ping(typed);
      expect(outcome, typed).to.deep.include({ ok: false, reason: 'closed' });
    }
    expect(alpha.handshakes.length + beta.handshakes.length).to.equal(before);
    expect(sim.playerConnections.map((c) => c.backend)).to.deep.equal([null, null, null, null]);
  });

  it('disconnects a login for an unknown host with a reason, and lets a known one through to its backend', async () => {
    const refused = await attemptLogin({ ...sim.playerAddress, serverAddress: `mc-5003.${ZONE}` });
    expect(refused).to.deep.equal({ disconnected: true, reason: `Unable to connect you to mc-5003.${ZONE}. No server of that name is available.` });
    const known = await attemptLogin({ ...sim.playerAddress, serverAddress: `mc-5001.${ZONE}` });
    expect(known).to.deep.equal({ disconnected: true, reason: 'Alpha: no joining' });
  });

  it('tells a login the backend is unreachable when it does not answer', async () => {
    const gone = await new StatusServer('Gone').start();
    await gone.stop();
    await proxy.register({ name: 'zp-5009', address: '127.0.0.1', port: gone.port, forcedHosts: [`mc-5009.${ZONE}`] });
    expect(await attemptLogin({ ...sim.playerAddress, serverAddress: `mc-5009.${ZONE}` }))
      .to.deep.equal({ disconnected: true, reason: 'Unable to connect you to zp-5009. Please try again later.' });
    expect(await ping(`mc-5009.${ZONE}`)).to.deep.include({ ok: false, reason: 'closed' });
  });

  it('follows the registrations: a re-registered host moves, an unregistered one is refused', async () => {
    await proxy.register({ name: 'zp-5002', address: '127.0.0.1', port: alpha.port, forcedHosts: [`mc-5002.${ZONE}`] });
    expect(motd(await ping(`mc-5002.${ZONE}`))).to.equal('Alpha');
    await proxy.unregister('zp-5002');
    expect(await ping(`mc-5002.${ZONE}`)).to.deep.include({ ok: false, reason: 'closed' });
    expect(motd(await ping(`mc-5001.${ZONE}`))).to.equal('Alpha');
  });

  it('gives a host to one backend: registering it with another takes it away from the first', async () => {
    await proxy.register({ name: 'zp-6001', address: '127.0.0.1', port: beta.port, forcedHosts: [`mc-5001.${ZONE}`] });
    expect(motd(await ping(`mc-5001.${ZONE}`))).to.equal('Beta');
    expect(sim.backends().find((b) => b.name === 'zp-5001')?.forcedHosts).to.deep.equal([]);
    await proxy.unregister('zp-6001');
    expect(await ping(`mc-5001.${ZONE}`), 'the host left with the backend holding it').to.deep.include({ ok: false, reason: 'closed' });
    await proxy.register({ name: 'zp-5001', address: '127.0.0.1', port: alpha.port, forcedHosts: [`mc-5001.${ZONE}`] });
    expect(motd(await ping(`mc-5001.${ZONE}`))).to.equal('Alpha');
    expect(sim.backends().map((b) => b.name), 'a backend registered again keeps its place').to.deep.equal(['zp-5001', 'zp-5002']);
  });

  it('lists and answers forced hosts through the bridge API', async () => {
    expect((await proxy.list()).sort((a, b) => a.name.localeCompare(b.name))).to.deep.equal([
      { name: 'zp-5001', address: '127.0.0.1', port: alpha.port, forcedHosts: [`mc-5001.${ZONE}`] },
      { name: 'zp-5002', address: '127.0.0.1', port: beta.port, forcedHosts: [`mc-5002.${ZONE}`] },
    ]);
    const answered = await bridge.client().register({ name: 'zp-5003', address: '127.0.0.1', port: 30003 });
    expect(answered).to.deep.equal({ name: 'zp-5003', address: '127.0.0.1', port: 30003, forcedHosts: [] });
  });

  it('refuses forced hosts that are no lower-case DNS names, changing nothing', async () => {
    for (const forcedHosts of [['MC-5004.play.example.test'], ['mc 5004'], ['mc-5004.play.example.test.'], Array.from({ length: 17 }, (_, i) => `h${i}.test`)]) {
      const err = await proxy.register({ name: 'zp-5004', address: '127.0.0.1', port: 30004, forcedHosts }).then(() => null, (e: Error) => e);
      expect(err?.message, JSON.stringify(forcedHosts)).to.match(/^velocity register: /);
    }
    expect(sim.backends().map((b) => b.name)).to.not.include('zp-5004');
  });

  it('forgets every route when the proxy restarts, and serves players on the same port again', async () => {
    const { port } = sim.playerAddress;
    await sim.restart();
    expect(sim.playerAddress.port).to.equal(port);
    expect(await ping(`mc-5001.${ZONE}`)).to.deep.include({ ok: false, reason: 'closed' });
    await proxy.register({ name: 'zp-5001', address: '127.0.0.1', port: alpha.port, forcedHosts: [`mc-5001.${ZONE}`] });
    expect(motd(await ping(`mc-5001.${ZONE}`))).to.equal('Alpha');
  });

  it('drops a client whose first frame is oversized, a legacy ping or no handshake', async () => {
    const closed = (bytes: Buffer) => new Promise<boolean>((resolve) => {
      const socket = net.connect(sim.playerAddress, () => socket.write(bytes));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(true));
      setTimeout(() => { socket.destroy(); resolve(false); }, 3000);
    });
    expect(await closed(encodeVarInt(64 * 1024)), 'oversized frame').to.equal(true);
    expect(await closed(Buffer.from('fe01fa', 'hex')), 'legacy ping').to.equal(true);
    expect(await closed(Buffer.from('0201ff', 'hex')), 'not a handshake').to.equal(true);
    expect(sim.playerConnections).to.deep.equal([]);
  });
});
