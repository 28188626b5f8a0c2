import { expect } from 'chai';
import { createServer, type AddressInfo } from 'node:net';
import { AgentError, BootError } from '../../kernel/api';
import type { AgentTokens, InstanceView } from '../../kernel/api';
import { startTestKernel } from '../../kernel/testing';
import { AgentClient } from './client/agent-client';
import { TEXT_BODY_LIMIT, joinAgentUrl } from './client/wire';
import { agentConfig } from './config';
import plugin from './index';
import { HttpInstanceAgent } from './provider';
import { AgentSimulator } from './testing/simulator';

const BOOT_MS = 150;
const TIMEOUT_MS = 400;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A loopback port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves with the AgentError the call rejects with; fails the test if it resolves or throws anything else. */
async function agentError(call: Promise<unknown>): Promise<AgentError> {
  const outcome = await call.then(() => undefined, (err: unknown) => err);
  expect(outcome).to.be.instanceOf(AgentError);
  return outcome as AgentError;
}

describe('agent plugin', () => {
  let sim: AgentSimulator;
  before(async () => {
    sim = await new AgentSimulator({ port: 0, bootMs: BOOT_MS }).start();
  });
  after(() => sim.stop());
  beforeEach(() => sim.reset());

  const client = (vmid: number, token = `tok-${vmid}`, baseUrl = sim.address(vmid)) =>
    new AgentClient({ baseUrl, token, timeoutMs: TIMEOUT_MS });
  const provision = (vmid: number) => client(vmid).provision({ agentToken: `tok-${vmid}`, type: 'minecraft', version: '1.21.4' });

  describe('AgentClient', () => {
    it('provisions with the payload token, then is not ready until the boot time has passed', async () => {
      await provision(101);
      expect(await client(101).ready()).to.deep.equal({ ready: false, provisioned: true, detail: { phase: 'starting' } });
      await sleep(BOOT_MS + 50);
      expect(await client(101).ready()).to.deep.equal({ ready: true, provisioned: true, detail: { phase: 'running' } });
      expect(sim.containers().get(101)).to.include({ token: 'tok-101', state: 'running' });
    });

    it('fails closed after provision: a wrong or missing token is a 401 AgentError', async () => {
      await provision(102);
      const wrong = await agentError(client(102, 'tok-other').status());
      expect(wrong.details.agent).to.deep.equal({ status: 401, body: { error: 'unauthorized' } });
      const missing = await agentError(client(102, '').ready());
      expect(missing.details.agent).to.deep.include({ status: 401 });
    });

    it('answers 409 not_provisioned before provision, and readiness says unprovisioned', async () => {
      const err = await agentError(client(103).status());
      expect(err.code).to.equal('agent_error');
      expect(err.details.agent).to.deep.equal({ status: 409, body: { error: 'not_provisioned' } });
      expect(await client(103).ready()).to.deep.equal({ ready: false, provisioned: false, detail: { phase: 'unprovisioned' } });
    });

    it('stops and starts the server through /power, as /status shows', async () => {
      await provision(104);
      expect(await client(104).status()).to.deep.include({ state: 'starting', provisioned: true, payload: { type: 'minecraft', version: '1.21.4' } });
      await client(104).power('stop');
      expect(await client(104).status()).to.include({ state: 'stopped', pid: null, uptimeSeconds: 0 });
      await client(104).power('start');
      await sleep(BOOT_MS + 50);
      expect(await client(104).status()).to.include({ state: 'running' });
    });

    it('turns an injected 500 into an AgentError keeping the status and body', async () => {
      sim.faults.failNext(1, 500, { error: 'disk_full', free: 0 });
      const err = await agentError(client(105).status());
      expect(err.status).to.equal(502);
      expect(err.details.agent).to.deep.equal({ status: 500, body: { error: 'disk_full', free: 0 } });
      expect(err.message).to.contain('status');
    });

    it('keeps a non-JSON error body as text trimmed to 2 KB', async () => {
      sim.faults.failNext(1, 502, `  ${'x'.repeat(5000)}`);
      const err = await agentError(client(106).power('restart'));
      const agent = err.details.agent as { status: number; body: string };
      expect(agent.status).to.equal(502);
      expect(agent.body).to.equal('x'.repeat(TEXT_BODY_LIMIT));
    });

    it('gives up on an agent that never answers within timeoutMs', async () => {
      sim.faults.unreachable = true;
      const started = Date.now();
      const err = await agentError(client(107).status());
      const elapsed = Date.now() - started;
      expect(elapsed).to.be.within(TIMEOUT_MS - 20, TIMEOUT_MS + 1000);
      expect(err.message).to.contain('status');
      expect(err.details.agent).to.deep.equal({ status: 0, body: { reason: `no answer within ${TIMEOUT_MS} ms` } });
    });

    it('gives up on a readiness probe after readyTimeoutMs, sooner than other calls', async () => {
      sim.faults.unreachable = true;
      const probe = new AgentClient({ baseUrl: sim.address(110), token: 'tok-110', timeoutMs: 5000, readyTimeoutMs: 150 });
      const err = await agentError(probe.ready());
      expect(err.details.agent).to.deep.equal({ status: 0, body: { reason: 'no answer within 150 ms' } });
    });

    it('reports a dropped connection as status 0 without retrying the POST', async () => {
      sim.faults.dropConnections = new Set([108]);
      const err = await agentError(provision(108));
      expect(err.message).to.contain('provision');
      expect(err.details.agent).to.have.property('status', 0);
      expect(sim.requests.filter((r) => r.vmid === 108 && r.path === '/provision')).to.have.length(1);
    });

    it('joins paths onto a base URL that carries a path, with or without a trailing slash', async () => {
      expect(joinAgentUrl('http://10.0.0.12:7070', 'ready')).to.equal('http://10.0.0.12:7070/ready');
      expect(joinAgentUrl('http://127.0.0.1:7071/ct/9/', '/status')).to.equal('http://127.0.0.1:7071/ct/9/status');
      await client(109, 'tok-109', `${sim.address(109)}/`).ready();
      expect(sim.requests.map(({ vmid, method, path }) => ({ vmid, method, path }))).to.deep.equal([{ vmid: 109, method: 'GET', path: '/ready' }]);
    });
  });

  describe('HttpInstanceAgent', () => {
    const tokens: AgentTokens = { tokenFor: (id) => `tok-${id}`, verify: (id, presented) => presented === `tok-${id}`, identify: (p) => (p.startsWith('tok-') ? p.slice(4) : null) };
    const agent = () => new HttpInstanceAgent(tokens, { timeoutMs: TIMEOUT_MS, readyTimeoutMs: TIMEOUT_MS });
    const instance = (vmid: number, address: string | null = sim.address(vmid)): InstanceView => ({
      id: `inst-${vmid}`, ownerId: 'acct-1', kind: 'game', type: 'minecraft', name: `server ${vmid}`, state: 'provisioning',
      vmid, node: 'pve1', address, host: '127.0.0.1', ports: [], payload: {}, createdAt: new Date(),
    });

    it('provisions with the token derived from the instance id and drives the agent with it', async () => {
      await agent().provision(instance(201), { type: 'minecraft', version: '1.20.1', agentToken: 'forged' });
      const sim201 = sim.containers().get(201);
      expect(sim201?.token).to.equal('tok-inst-201');
      expect(sim201?.provisionedPayload).to.include({ agentToken: 'tok-inst-201', version: '1.20.1' });
      expect(await agent().ready(instance(201))).to.have.property('ready', false);
      await agent().power(instance(201), 'stop');
      expect(await agent().status(instance(201))).to.include({ state: 'stopped' });
    });

    it('rejects with an AgentError while the instance has no agent address yet', async () => {
      const err = await agentError(agent().status(instance(202, null)));
      expect(err.message).to.contain('no agent address');
      expect(sim.requests).to.have.length(0);
    });
  });

  describe('plugin lifecycle', () => {
    const kernelWith = (options: Record<string, unknown>) =>
      startTestKernel({ plugins: [plugin], config: { plugins: { agent: { enabled: true, options } } } });

    it('runs the simulator only when simulate is true, and stops it with the kernel', async () => {
      const port = await freePort();
      const tk = await kernelWith({ simulate: true, simulator: { port, bootMs: 0 } });
      const own = new AgentClient({ baseUrl: `http://127.0.0.1:${port}/ct/7`, token: 't', timeoutMs: TIMEOUT_MS });
      try {
        await own.provision({ agentToken: 't' });
        expect(await own.ready()).to.have.property('ready', true);
      } finally {
        await tk.stop();
      }
      await agentError(own.ready());

      const off = await kernelWith({ simulate: false, simulator: { port } });
      try {
        await agentError(own.ready());
      } finally {
        await off.stop();
      }
    });

    it('stops boot with a BootError naming the address when the simulator port is taken', async () => {
      const port = Number(new URL(sim.url).port);
      const outcome = await kernelWith({ simulate: true, simulator: { port } }).then(async (tk) => tk.stop(), (err: unknown) => err);
      expect(outcome).to.be.instanceOf(BootError).with.property('message').that.contains(`127.0.0.1:${port}`);
    });

    it('defaults to a free simulator port with a 300 ms boot, and no game ports', () => {
      expect(agentConfig.parse({})).to.deep.equal({
        timeoutMs: 5000, readyTimeoutMs: 2000, driftChecksPerPass: 50, simulate: false,
        simulator: { host: '127.0.0.1', port: 0, latencyMs: 0, bootMs: 300, gameServers: false },
      });
    });
  });
});
