import { expect } from 'chai';
import { WebSocket } from 'ws';
import { CONSOLE_PROTOCOL_V1 } from '../../kernel/api';
import { ConsoleTranscript } from '../../plugins/agent/testing/console-transcript';
import type { TestKernel, TestUser } from '../harness';
import { create, settle, startFleet, startFleetKernel, type Fleet } from '../provisioning/fixture';
import { PORTAL, closed, connect, nextMessage } from './client';

/** A kernel with a console for one server of one owner, and the ways to open it. */
function useConsoleKernel(console: Record<string, unknown>) {
  const env = {} as { fleet: Fleet; tk: TestKernel; owner: TestUser; serverId: string; vmid: number };
  before(async () => {
    env.fleet = await startFleet();
    env.tk = await startFleetKernel(env.fleet, { config: { console: { allowedOrigins: [PORTAL], ...console } } });
    env.owner = await env.tk.user();
    env.serverId = (await settle(env.owner, (await create(env.owner, 'protocol')).body.operation.id)).instanceId;
    env.vmid = (await env.owner.http.get(`/api/servers/${env.serverId}`)).body.server.vmid;
  });
  after(async () => {
    await env.tk?.stop();
    await env.fleet?.stop();
  });
  const url = async () => {
    const ticket = (await env.owner.http.post(`/api/servers/${env.serverId}/console/ticket`)).body.ticket;
    return `${env.tk.url.replace('http', 'ws')}/api/servers/${env.serverId}/console?ticket=${ticket}`;
  };
  /** A v1 console, with its transcript listening from the first frame. */
  const open = async (protocols = [CONSOLE_PROTOCOL_V1]) => {
    const { ws } = await connect(await url(), { origin: PORTAL }, protocols);
    return { ws: ws!, log: new ConsoleTranscript(ws!) };
  };
  return { env, url, open };
}

const send = (ws: WebSocket, frame: unknown) => ws.send(JSON.stringify(frame));

describe('Console protocol zpack.console.v1', () => {
  const { env, url, open } = useConsoleKernel({ statsIntervalMs: 100 });

  it('is selected when offered beside others; it resizes the simulated PTY and receives the status and stats every interval', async () => {
    const { ws, log } = await open(['zpack.console.v0', CONSOLE_PROTOCOL_V1]);
    expect(ws.protocol).to.equal(CONSOLE_PROTOCOL_V1);
    expect(await log.frame('status')).to.deep.equal({ type: 'status', state: 'running' });
    await log.frame('stats', 3);
    expect(log.of('stats')[0]).to.deep.equal({ type: 'stats', cpuPercent: 12.5, memoryBytes: 1536 * 1024 * 1024, players: 2 });
    send(ws, { type: 'resize', cols: 132, rows: 43 });
    send(ws, { type: 'input', data: 'stty size\r' });
    await log.line('43 132');
    expect(env.fleet.agents.containers().get(env.vmid)?.terminal).to.deep.equal({ cols: 132, rows: 43 });
    ws.close();
  });

  it('delivers the PTY output as sent, CRLF and in partial chunks, which a client reassembles into the lines typed and printed', async () => {
    const { ws, log } = await open();
    await log.line('Preparing level "world"');
    const from = log.chunks.length;
    send(ws, { type: 'input', data: 'say par' });
    send(ws, { type: 'input', data: 'tial\r' });
    await log.line('[Server] partial');
    const chunks = log.chunks.slice(from);
    expect(chunks.join('')).to.equal('say partial\r\n[Server] partial\r\n');
    expect(chunks.some((c) => c.length > 0 && !c.endsWith('\r\n')), 'a chunk ends mid-line').to.equal(true);
    expect(log.lines.slice(-2)).to.deep.equal(['say partial', '[Server] partial']);
    ws.close();
  });

  it('answers malformed frames with an error frame and keeps the console open', async () => {
    const { ws, log } = await open();
    await log.frame('status');
    const bad = ['say hi', '{"type":"resize","cols":0,"rows":24}', '{"type":"launch"}', '{"type":"signal","name":"SIGSTOP"}', '[]'];
    for (const text of bad) ws.send(text);
    ws.send(Buffer.from([1, 2, 3]), { binary: true });
    const errors = await log.frame('error', bad.length + 1).then(() => log.of('error'));
    expect(errors.map((e) => e.code)).to.deep.equal(Array(bad.length + 1).fill('bad_frame'));
    expect(errors[1].message).to.match(/cols/);
    send(ws, { type: 'input', data: 'say still here\r' });
    await log.line('[Server] still here');
    expect(log.lines).to.not.include('[Server] hi');
    ws.close();
  });

  it('passes a signal to the server: SIGTERM stops it, the client sees the status, the exit and a normal close', async () => {
    const { ws, log } = await open();
    await log.frame('status');
    const end = closed(ws);
    send(ws, { type: 'signal', name: 'SIGTERM' });
    expect((await end).code).to.equal(1000);
    expect(log.frames.slice(-2)).to.deep.equal([{ type: 'status', state: 'stopped' }, { type: 'exit', code: 0, signal: null }]);
    expect((await env.owner.http.post(`/api/servers/${env.serverId}/power`, { action: 'start' })).status).to.equal(202);
  });

  it('is described on the console route of the OpenAPI document', async () => {
    const doc = (await env.tk.http.get('/api/openapi.json')).body;
    const description: string = doc.paths['/api/servers/{id}/console/ticket'].post.description;
    for (const term of [CONSOLE_PROTOCOL_V1, '{type:"resize",cols,rows}', '{type:"stats",cpuPercent,memoryBytes,players}', '{type:"expiring",inSeconds}', '4440']) {
      expect(description).to.contain(term);
    }
  });

  describe('raw text, for clients without the subprotocol', () => {
    it('sends one line per message without its CRLF, however the PTY chunked it, and types each message as a command (JSON too)', async () => {
      const { ws } = await connect(await url());
      expect(ws!.protocol).to.equal('');
      const messages: string[] = [];
      ws!.on('message', (data) => messages.push(String(data)));
      const json = '{"type":"input","data":"say json"}';
      ws!.send(json);
      await nextMessage(ws!, /^Unknown or incomplete command/);
      ws!.send('say hi');
      await nextMessage(ws!, /^\[Server\] hi$/);
      expect(messages.slice(-4)).to.deep.equal([json, 'Unknown or incomplete command, see below for error', 'say hi', '[Server] hi']);
      expect(messages.filter((m) => /[\r\n]/.test(m))).to.have.length(0);
      ws!.close();
    });

    it('is what a client offering only unknown subprotocols gets: the 101 names no subprotocol', async () => {
      const ws = new WebSocket(await url(), ['chat', 'zpack.console.v2'], { headers: { origin: PORTAL } });
      const answered = new Promise<string | undefined>((resolve) => ws.once('upgrade', (res) => resolve(res.headers['sec-websocket-protocol'] as string | undefined)));
      // ws, like browsers, then fails the connection itself: the server chose raw text.
      const failed = new Promise<string>((resolve) => ws.once('error', (err) => resolve(err.message)));
      expect(await answered).to.equal(undefined);
      expect(await failed).to.equal('Server sent no subprotocol');
    });
  });
});

describe('Console expiry', () => {
  const { env, open } = useConsoleKernel({ maxLifetimeSeconds: 2, expiringNoticeSeconds: 1 });

  it('sends `expiring` before the console’s lifetime ends, then closes it with 4440', async () => {
    const { ws, log } = await open();
    const { code, reason } = await closed(ws);
    expect({ code, reason }).to.deep.equal({ code: 4440, reason: 'console lifetime reached' });
    const expiring = log.of('expiring');
    expect(expiring).to.have.length(1);
    expect(expiring[0].inSeconds).to.be.within(0, 1);
  });

  it('sends `expiring` before the login session expires, then closes with 4401 session expired', async () => {
    await env.tk.kernel.ds.query(`UPDATE session SET expires_at = now() + interval '1500 milliseconds' WHERE account_id = $1`, [env.owner.id]);
    const { ws, log } = await open();
    const { code, reason } = await closed(ws);
    expect({ code, reason }).to.deep.equal({ code: 4401, reason: 'session expired' });
    const expiring = log.of('expiring');
    expect(expiring).to.have.length(1);
    expect(expiring[0].inSeconds).to.be.within(0, 2);
  });
});
