import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { CONSOLE_PROTOCOL_V1, type ConsoleClientFrame, type InstanceView } from '../../kernel/api';
import { CONSOLE_MAX_PAYLOAD, connectConsole } from './client/console';
import { ConsoleTranscript } from './testing/console-transcript';
import { agentError, eventually, startAgentFixture, type AgentFixture } from './testing/fixture';

const CONNECT_TIMEOUT_MS = 300;

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

  const send = (socket: WebSocket, frame: ConsoleClientFrame | { type: 'stats' }) => socket.send(JSON.stringify(frame));
  const type = (socket: WebSocket, data: string) => send(socket, { type: 'input', data });

  it('speaks zpack.console.v1: the server state first, then the recent log as CRLF output in partial chunks', async () => {
    const socket = await connect();
    expect(socket.protocol).to.equal(CONSOLE_PROTOCOL_V1);
    const log = new ConsoleTranscript(socket);
    await log.line('Preparing level "world"');
    expect(log.frames[0]).to.deep.equal({ type: 'status', state: 'running' });
    expect(log.output).to.equal('Starting minecraft server version 1.21.4\r\nPreparing level "world"\r\n');
    expect(log.chunks.length).to.be.greaterThan(1);
    expect(log.chunks.some((chunk) => !chunk.endsWith('\r\n')), 'some chunk ends mid-line').to.equal(true);
  });

  it('echoes what is typed and runs a line once Enter arrives, however the input was split; backspace erases', async () => {
    const socket = await connect();
    const log = new ConsoleTranscript(socket);
    await log.line('Preparing level "world"');
    type(socket, 'sa');
    type(socket, 'y hi');
    await eventually(async () => (log.output.endsWith('say hi') ? true : undefined));
    expect(log.lines).to.not.include('[Server] hi');
    type(socket, 'x\x7f\r');
    await log.line('[Server] hi');
    expect(log.output).to.contain('say hix\b \b\r\n[Server] hi\r\n');
    type(socket, 'list\r\nsay bye\n');
    await log.line('[Server] bye');
    expect(log.lines.slice(-4)).to.deep.equal(['list', 'There are 2 of a max of 20 players online: Steve, Alex', 'say bye', '[Server] bye']);
  });

  it('honours resize: `stty size` answers rows and columns', async () => {
    const socket = await connect();
    const log = new ConsoleTranscript(socket);
    type(socket, 'stty size\r');
    await log.line('24 80');
    send(socket, { type: 'resize', cols: 132, rows: 43 });
    type(socket, 'stty size\r');
    await log.line('43 132');
    expect(fx.sim.containers().get(501)?.terminal).to.deep.equal({ cols: 132, rows: 43 });
  });

  it('answers a stats request with the server’s cpu, memory and players', async () => {
    const socket = await connect();
    const log = new ConsoleTranscript(socket);
    send(socket, { type: 'stats' });
    expect(await log.frame('stats')).to.deep.equal({ type: 'stats', cpuPercent: 12.5, memoryBytes: 1536 * 1024 * 1024, players: 2 });
  });

  it('says the state once on open: a server that became ready before the console opened is no change on the next stats', async () => {
    const socket = await connect();
    const log = new ConsoleTranscript(socket);
    send(socket, { type: 'stats' });
    await log.frame('stats');
    expect(log.of('status')).to.deep.equal([{ type: 'status', state: 'running' }]);
  });

  it('delivers signals: Ctrl-C stops the server gracefully, SIGKILL kills it; each ends with status, exit and a close', async () => {
    const graceful = await connect();
    const log = new ConsoleTranscript(graceful);
    const stopped = closed(graceful);
    type(graceful, 'sa\x03');
    expect((await stopped).code).to.equal(1000);
    expect(log.output).to.contain('sa^C\r\nStopping server\r\n');
    expect(log.frames.slice(-2)).to.deep.equal([{ type: 'status', state: 'stopped' }, { type: 'exit', code: 0, signal: null }]);

    await fx.agent.power(server, 'start');
    const killed = await connect();
    const kill = new ConsoleTranscript(killed);
    const ended = closed(killed);
    send(killed, { type: 'signal', name: 'SIGKILL' });
    expect((await ended).code).to.equal(1000);
    expect(kill.of('exit')).to.deep.equal([{ type: 'exit', code: null, signal: 'SIGKILL' }]);
    expect(fx.sim.containers().get(501)).to.include({ state: 'stopped', consoles: 0 });
  });

  it('answers a malformed frame with an error frame and stays open', async () => {
    const socket = await connect();
    const log = new ConsoleTranscript(socket);
    for (const bad of ['say hi', '{"type":"resize","cols":0,"rows":10}', '{"type":"signal","name":"SIGSTOP"}']) socket.send(bad);
    await log.frame('error', 3);
    expect(log.of('error').map((f) => f.code)).to.deep.equal(['bad_frame', 'bad_frame', 'bad_frame']);
    expect(fx.sim.containers().get(501)?.terminal).to.deep.equal({ cols: 80, rows: 24 });
    type(socket, 'say still here\r');
    await log.line('[Server] still here');
  });

  it('refuses an upgrade that does not offer zpack.console.v1 (400 unsupported_protocol)', async () => {
    const socket = new WebSocket(`${fx.sim.address(501).replace('http', 'ws')}/console`, { headers: { authorization: 'Bearer tok-inst-501' } });
    socket.on('error', () => undefined);
    const status = await new Promise<number>((resolve) => socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    socket.terminate();
    expect(status).to.equal(400);
    expect(fx.sim.containers().get(501)?.consoles).to.equal(0);
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

  it('rejects an agent that does not select zpack.console.v1 (status 0, the handshake failed)', async () => {
    const agent = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => false });
    await new Promise((resolve) => agent.once('listening', resolve));
    try {
      const err = await agentError(connectConsole(`http://127.0.0.1:${(agent.address() as AddressInfo).port}`, 'tok', CONNECT_TIMEOUT_MS));
      expect(err.details.agent).to.deep.equal({ status: 0, body: { reason: 'Server sent no subprotocol' } });
    } finally {
      await new Promise((resolve) => agent.close(resolve));
    }
  });

  it('shows every attached console what any of them typed, echo included', async () => {
    const [first, second] = [await connect(), await connect()];
    const seen = new ConsoleTranscript(second);
    expect(fx.sim.containers().get(501)?.consoles).to.equal(2);
    type(first, 'say from the first\r');
    await seen.line('[Server] from the first');
    expect(seen.lines).to.include('say from the first');
  });

  it('stops the server on `stop`, printing it, and closes the console normally (1000)', async () => {
    const socket = await connect();
    const log = new ConsoleTranscript(socket);
    const ended = closed(socket);
    type(socket, 'stop\r');
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
