import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { InstanceView } from '../../kernel/api';
import { CONSOLE_MAX_PAYLOAD, connectConsole } from './client/console';
import { agentError, eventually, startAgentFixture, type AgentFixture } from './testing/fixture';

const CONNECT_TIMEOUT_MS = 300;

/** Collects every text frame a console receives, to wait for a given line. */
function transcript(socket: WebSocket): { lines: string[]; line(wanted: string): Promise<void> } {
  const lines: string[] = [];
  socket.on('message', (data) => lines.push(String(data)));
  return { lines, line: (wanted) => eventually(async () => (lines.includes(wanted) ? true : undefined), 2000).then(() => undefined) };
}

const closed = (socket: WebSocket) =>
  new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })));

describe('InstanceAgent console (openConsole)', () => {
  let fx: AgentFixture;
  let server: InstanceView;
  const open: WebSocket[] = [];
  before(async () => {
    fx = await startAgentFixture({ bootMs: 20 });
  });
  after(() => fx.sim.stop());
  beforeEach(async () => {
    await fx.sim.reset();
    server = await fx.provision(501);
    await eventually(async () => ((await fx.agent.ready(server)).ready ? true : undefined));
  });
  afterEach(() => open.splice(0).forEach((socket) => socket.terminate()));

  const connect = async (instance = server) => {
    const socket = await fx.agent.openConsole(instance, CONNECT_TIMEOUT_MS);
    open.push(socket);
    return socket;
  };

  it('replays the recent log on connect, then echoes commands and answers them', async () => {
    const socket = await connect();
    const log = transcript(socket);
    await log.line('Starting minecraft server version 1.21.4');
    socket.send('say hi');
    await log.line('[Server] hi');
    socket.send('list');
    await log.line('There are 2 of a max of 20 players online: Steve, Alex');
    expect(log.lines.slice(-4)).to.deep.equal(['> say hi', '[Server] hi', '> list', 'There are 2 of a max of 20 players online: Steve, Alex']);
  });

  it('refuses a frame over 1 MiB from the agent: not delivered, the agent is told 1009', async () => {
    const agent = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => agent.once('listening', resolve));
    const agentSawClose = new Promise<number>((resolve) => agent.on('connection', (ws) => {
      ws.on('close', resolve);
      ws.send('x'.repeat(CONSOLE_MAX_PAYLOAD + 1));
    }));
    try {
      const socket = await connectConsole(`http://127.0.0.1:${(agent.address() as AddressInfo).port}`, 'tok', CONNECT_TIMEOUT_MS);
      const failure = new Promise<string>((resolve) => socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? '')));
      socket.on('message', () => expect.fail('an oversized frame must not be delivered'));
      expect(await failure).to.equal('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
      expect(await agentSawClose).to.equal(1009);
    } finally {
      await new Promise((resolve) => agent.close(resolve));
    }
  });

  it('shows every attached console what any of them typed', async () => {
    const [first, second] = [await connect(), await connect()];
    const seen = transcript(second);
    expect(fx.sim.containers().get(501)?.consoles).to.equal(2);
    first.send('say from the first');
    await seen.line('[Server] from the first');
  });

  it('stops the server on `stop`, printing it, and closes the console normally (1000)', async () => {
    const socket = await connect();
    const log = transcript(socket);
    const ended = closed(socket);
    socket.send('stop');
    expect((await ended).code).to.equal(1000);
    expect(log.lines).to.include('Stopping server');
    expect(fx.sim.containers().get(501)).to.include({ state: 'stopped', consoles: 0 });
  });

  it('rejects with connect_timeout against an agent that never answers, within the timeout', async () => {
    fx.sim.faults.unreachable = true;
    const started = Date.now();
    const err = await agentError(fx.agent.openConsole(server, CONNECT_TIMEOUT_MS));
    expect(Date.now() - started).to.be.within(CONNECT_TIMEOUT_MS - 20, CONNECT_TIMEOUT_MS + 500);
    expect(err.details.agent).to.deep.equal({ status: 0, body: { reason: 'connect_timeout' } });
    expect(fx.sim.requests.filter((r) => r.path === '/console')).to.have.length(1);
  });

  it('rejects with the upgrade status when the agent refuses it: wrong token 401, before provision 409, injected 503', async () => {
    const forged = { ...server, id: 'inst-other' };
    expect((await agentError(fx.agent.openConsole(forged, CONNECT_TIMEOUT_MS))).details.agent).to.deep.equal({ status: 401, body: { error: 'unauthorized' } });
    const unprovisioned = fx.instance(502);
    expect((await agentError(fx.agent.openConsole(unprovisioned, CONNECT_TIMEOUT_MS))).details.agent).to.have.property('status', 409);
    fx.sim.faults.failNext(1, 503, { error: 'busy' });
    expect((await agentError(connect())).details.agent).to.deep.equal({ status: 503, body: { error: 'busy' } });
    expect(fx.sim.containers().get(501)?.consoles).to.equal(0);
  });

  it('reports a dropped upgrade as a transport failure (status 0)', async () => {
    fx.sim.faults.dropConnections = new Set([501]);
    expect((await agentError(connect())).details.agent).to.have.property('status', 0);
  });

  it('keeps the fault knobs: latency delays the upgrade', async () => {
    fx.sim.faults.latencyMs = 150;
    const started = Date.now();
    await connect();
    expect(Date.now() - started).to.be.at.least(140);
  });
});
