import { expect } from 'chai';
import net from 'node:net';
import { pingGamePort } from './sim-game';
import { AgentSimulator } from './simulator';

const BOOT_MS = 50;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('AgentSimulator game ports', () => {
  let sim: AgentSimulator;
  before(async () => {
    sim = await new AgentSimulator({ port: 0, bootMs: BOOT_MS, gameServers: true }).start();
  });
  after(() => sim.stop());
  beforeEach(() => sim.reset());

  async function provision(vmid: number, motd: string, gamePort: number) {
    const res = await fetch(`${sim.address(vmid)}/provision`, {
      method: 'POST', headers: { authorization: 'Bearer t' },
      body: JSON.stringify({ payload: { agentToken: 't', type: 'minecraft', version: '1.21.4', motd, ports: [{ name: 'game', port: gamePort, protocol: 'tcp' }] } }),
    });
    expect(res.status).to.equal(200);
  }
  const power = (vmid: number, action: string) =>
    fetch(`${sim.address(vmid)}/power`, { method: 'POST', headers: { authorization: 'Bearer t' }, body: JSON.stringify({ action }) });

  it("answers a status ping on each server's own game port with its motd and version", async () => {
    const [a, b] = [await freePort(), await freePort()];
    await provision(701, 'Alpha', a);
    await provision(702, 'Beta', b);
    await sleep(BOOT_MS + 30);
    const alpha = await pingGamePort('127.0.0.1', a);
    expect(alpha).to.deep.include({ description: { text: 'Alpha' }, version: { name: '1.21.4', protocol: 769 } });
    expect((await pingGamePort('127.0.0.1', b))?.description).to.deep.equal({ text: 'Beta' });
    expect(sim.gamePorts().get(701)).to.deep.include({ port: a, listening: true, statusAnswers: 1 });
  });

  it('closes connections unanswered while the server is not running, and answers again once it is', async () => {
    const port = await freePort();
    await provision(703, 'Gamma', port);
    expect(await pingGamePort('127.0.0.1', port), 'still starting').to.equal(null);
    await sleep(BOOT_MS + 30);
    expect((await power(703, 'stop')).status).to.equal(200);
    expect(await pingGamePort('127.0.0.1', port), 'stopped').to.equal(null);
    await power(703, 'start');
    await sleep(BOOT_MS + 30);
    expect((await pingGamePort('127.0.0.1', port))?.description).to.deep.equal({ text: 'Gamma' });
  });

  it('stops listening when the container is forgotten', async () => {
    const port = await freePort();
    await provision(704, 'Delta', port);
    await sleep(BOOT_MS + 30);
    expect(await pingGamePort('127.0.0.1', port)).to.not.equal(null);
    await sim.reset();
    expect(sim.gamePorts().size).to.equal(0);
    const refused = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.on('connect', () => { socket.destroy(); resolve(false); });
      socket.on('error', () => resolve(true));
    });
    expect(refused).to.equal(true);
  });

  it('reports a game port another program holds, and the container runs regardless', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', () => resolve()));
    try {
      const { port } = holder.address() as net.AddressInfo;
      await provision(705, 'Held', port);
      expect(sim.gamePorts().get(705)).to.deep.include({ port, listening: false });
      expect(sim.gamePorts().get(705)?.error).to.match(/EADDRINUSE/);
      await sleep(BOOT_MS + 30);
      expect(sim.containers().get(705)?.state).to.equal('running');
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });

  it('listens on no game port unless asked to', async () => {
    const plain = await new AgentSimulator({ port: 0, bootMs: BOOT_MS }).start();
    try {
      const port = await freePort();
      await fetch(`${plain.address(706)}/provision`, {
        method: 'POST', headers: { authorization: 'Bearer t' },
        body: JSON.stringify({ payload: { agentToken: 't', ports: [{ name: 'game', port, protocol: 'tcp' }] } }),
      });
      expect(plain.gamePorts().size).to.equal(0);
    } finally {
      await plain.stop();
    }
  });
});
