import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InstanceView } from '../../kernel/api';
import { ConsoleTranscript } from './testing/console-transcript';
import { agentError, eventually, startAgentFixture, type AgentFixture } from './testing/fixture';
import { crashPresets } from './testing/sim-crash';

interface ReceivedEvent {
  authorization?: string;
  path?: string;
  body: Record<string, unknown>;
}

/** A stand-in for the control plane: records agent events, accepting only the instance's own token. */
async function startControlPlane(): Promise<{ url: string; events: ReceivedEvent[]; server: Server }> {
  const events: ReceivedEvent[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      events.push({ authorization: req.headers.authorization, path: req.url, body });
      const authorized = req.headers.authorization === `Bearer tok-${String(body.instanceId)}`;
      res.writeHead(authorized ? 202 : 401, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: authorized }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, events, server };
}

describe('AgentSimulator crash injection', () => {
  let fx: AgentFixture;
  let controlPlane: Awaited<ReturnType<typeof startControlPlane>>;
  let server: InstanceView;
  before(async () => {
    fx = await startAgentFixture({ bootMs: 30 });
    controlPlane = await startControlPlane();
  });
  after(async () => {
    await fx.sim.stop();
    await new Promise((resolve) => controlPlane.server.close(resolve));
  });
  beforeEach(async () => {
    await fx.sim.reset();
    controlPlane.events.length = 0;
    server = await fx.provision(601, { controlPlaneUrl: `${controlPlane.url}/` });
  });

  it('marks the server crashed and posts an authenticated crash event to the control plane', async () => {
    const delivery = await fx.sim.crash(601, { ...crashPresets.oom(), uptimeSeconds: 42 });
    expect(delivery).to.deep.equal({ status: 202, body: { accepted: true } });
    expect(controlPlane.events).to.have.length(1);
    const [event] = controlPlane.events;
    expect(event.path).to.equal('/api/agent/events');
    expect(event.authorization).to.equal('Bearer tok-inst-601');
    expect(event.body).to.deep.include({ type: 'crash', instanceId: 'inst-601', exitCode: 1, signal: null, uptimeSeconds: 42 });
    expect((event.body.logTail as string[]).join('\n')).to.contain('java.lang.OutOfMemoryError');
    expect(Date.parse(String(event.body.at))).to.be.closeTo(Date.now(), 5000);
    expect(await fx.agent.ready(server)).to.deep.equal({ ready: false, provisioned: true, detail: { phase: 'crashed' } });
  });

  it('ends open consoles with the log tail, the crashed status, the exit code and 1011', async () => {
    const socket = await fx.agent.openConsole(server, 500);
    const log = new ConsoleTranscript(socket);
    const ended = new Promise<number>((resolve) => socket.once('close', resolve));
    await fx.sim.crash(601, crashPresets.mod_or_plugin_error());
    expect(await ended).to.equal(1011);
    expect(log.lines.at(-1)).to.contain('Error occurred while enabling Essentials');
    expect(log.frames.slice(-2)).to.deep.equal([{ type: 'status', state: 'crashed' }, { type: 'exit', code: 1, signal: null }]);
  });

  it('offers a preset log tail for every crash class', () => {
    const tails = Object.fromEntries(Object.entries(crashPresets).map(([cls, preset]) => [cls, preset().logTail.join('\n')]));
    expect(tails.oom).to.contain('java.lang.OutOfMemoryError');
    expect(tails.mod_or_plugin_error).to.contain('Error occurred while enabling');
    expect(tails.missing_dependency).to.contain('requires any version of sodium, which is missing');
    expect(crashPresets.nonzero_exit()).to.include({ exitCode: 2 });
    expect(crashPresets.unexpected_exit()).to.include({ exitCode: 0 });
  });

  it('restarts a crashed server on POST /power start: starting, then running after bootMs', async () => {
    await fx.sim.crash(601, crashPresets.unexpected_exit());
    await fx.agent.power(server, 'start');
    expect(await fx.agent.status(server)).to.include({ state: 'starting' });
    expect(await eventually(async () => ((await fx.agent.ready(server)).ready ? true : undefined))).to.equal(true);
  });

  it('reports readiness as a ready event, and returns what a control plane refusing the token answered', async () => {
    expect(await fx.sim.reportReady(601)).to.have.property('status', 202);
    expect(controlPlane.events[0].body).to.include({ type: 'ready', instanceId: 'inst-601' });
    await fx.provision(602, { controlPlaneUrl: controlPlane.url, instanceId: 'inst-someone-else' });
    expect(await fx.sim.crash(602)).to.deep.equal({ status: 401, body: { accepted: false } });
  });

  it('refuses to crash a container that was never provisioned', async () => {
    // The request makes the container exist, unprovisioned (409).
    await agentError(fx.agent.status(fx.instance(603)));
    const outcome = await fx.sim.crash(603).then(() => 'posted', (err: Error) => err.message);
    expect(outcome).to.contain('not provisioned');
  });
});
