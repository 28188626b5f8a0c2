import { expect } from 'chai';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentSimulator } from './simulator';

const BOOT_MS = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('AgentSimulator wire contract', () => {
  let sim: AgentSimulator;
  before(async () => {
    sim = await new AgentSimulator({ port: 0, bootMs: BOOT_MS }).start();
  });
  after(() => sim.stop());
  beforeEach(() => sim.reset());

  /** Raw HTTP, so the contract is checked independently of AgentClient. */
  async function call(vmid: number, method: 'GET' | 'POST', path: string, token?: string, body?: unknown) {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const res = await fetch(`${sim.address(vmid)}${path}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(2000),
    });
    return { status: res.status, body: await res.json() as Record<string, unknown> };
  }
  const provision = (vmid: number, bearer: string, agentToken: unknown = bearer) =>
    call(vmid, 'POST', '/provision', bearer, { payload: { agentToken, type: 'minecraft', version: '1.21.4' } });

  it('trusts on first use only a bearer equal to payload.agentToken', async () => {
    expect(await provision(1, 'a', 'b')).to.deep.equal({ status: 401, body: { error: 'unauthorized' } });
    expect(await call(1, 'POST', '/provision', undefined, { payload: { agentToken: 'a' } })).to.have.property('status', 401);
    expect(sim.containers().get(1)?.token).to.equal(undefined);
    expect(await provision(1, 'a')).to.deep.equal({ status: 200, body: { provisioned: true, phase: 'starting' } });
    expect(sim.containers().get(1)?.token).to.equal('a');
  });

  it('refuses to re-provision with another token, and accepts a repeat with the same one', async () => {
    await provision(2, 'a');
    expect(await provision(2, 'b')).to.have.property('status', 401);
    expect(await call(2, 'GET', '/status')).to.deep.equal({ status: 401, body: { error: 'unauthorized' } });
    expect(await provision(2, 'a')).to.have.property('status', 200);
    expect(sim.containers().get(2)?.token).to.equal('a');
  });

  it('answers 409 before provision, except /ready which says unprovisioned', async () => {
    expect(await call(3, 'POST', '/power', 'a', { action: 'start' })).to.deep.equal({ status: 409, body: { error: 'not_provisioned' } });
    expect(await call(3, 'GET', '/ready')).to.deep.equal({ status: 503, body: { ready: false, phase: 'unprovisioned' } });
  });

  it('restarts through starting with a new pid, and refuses unknown actions', async () => {
    await provision(4, 'a');
    await sleep(BOOT_MS + 30);
    const before = (await call(4, 'GET', '/status', 'a')).body;
    expect(before).to.include({ state: 'running', pid: 1001 });
    expect(await call(4, 'POST', '/power', 'a', { action: 'restart' })).to.deep.equal({ status: 200, body: { state: 'starting' } });
    expect((await call(4, 'GET', '/status', 'a')).body).to.include({ state: 'starting', pid: 1002 });
    expect(await call(4, 'POST', '/power', 'a', { action: 'explode' })).to.deep.equal({ status: 400, body: { error: 'invalid_action' } });
  });

  it('keeps selected containers starting while neverReady, and lets them finish when it is lifted', async () => {
    sim.faults.neverReady = new Set([5]);
    await provision(5, 'a');
    await provision(6, 'b');
    await sleep(BOOT_MS + 30);
    expect(await call(5, 'GET', '/ready', 'a')).to.deep.equal({ status: 503, body: { ready: false, phase: 'starting' } });
    expect(await call(6, 'GET', '/ready', 'b')).to.deep.equal({ status: 200, body: { ready: true, phase: 'running' } });
    sim.faults.neverReady = false;
    expect(await call(5, 'GET', '/ready', 'a')).to.have.property('status', 200);
  });

  it('fails exactly the next n requests and changes nothing while doing so', async () => {
    sim.faults.failNext(2, 503, { error: 'busy' });
    expect(await provision(7, 'a')).to.deep.equal({ status: 503, body: { error: 'busy' } });
    expect(await provision(7, 'a')).to.have.property('status', 503);
    expect(sim.containers().get(7)).to.equal(undefined);
    expect(await provision(7, 'a')).to.have.property('status', 200);
  });

  it('delays answers by latencyMs', async () => {
    sim.faults.latencyMs = 120;
    const started = Date.now();
    await call(8, 'GET', '/ready');
    expect(Date.now() - started).to.be.at.least(110);
  });

  it('logs requests by container and forgets everything on reset', async () => {
    await provision(9, 'a');
    await call(9, 'GET', '/status', 'a');
    expect(sim.requests.map((r) => `${r.vmid} ${r.method} ${r.path}`)).to.deep.equal(['9 POST /provision', '9 GET /status']);
    sim.faults.unreachable = true;
    sim.reset();
    expect(sim.requests).to.have.length(0);
    expect(sim.containers().size).to.equal(0);
    expect(sim.faults.unreachable).to.equal(false);
  });

  it('answers 404 outside /ct/{vmid} and for unknown agent paths', async () => {
    expect((await fetch(`${sim.url}/ready`)).status).to.equal(404);
    expect(await call(10, 'GET', '/nope')).to.deep.equal({ status: 404, body: { error: 'not_found' } });
  });

  it('gives a provisioned container a seeded server folder, removed when the container is forgotten', async () => {
    await provision(11, 'a');
    const root = sim.rootOf(11);
    expect((await readdir(root)).sort()).to.deep.equal(['eula.txt', 'logs', 'server.properties', 'world']);
    expect(await provision(11, 'a')).to.have.property('status', 200);
    expect((await fetch(`${sim.url}/__sim/ct/11`, { method: 'DELETE' })).status).to.equal(204);
    expect(await stat(root).catch(() => 'gone')).to.equal('gone');
    expect(() => sim.rootOf(11)).to.throw('not provisioned');
  });

  it('refuses a streamed write without the token (401) and writes nothing', async () => {
    await provision(12, 'a');
    const res = await fetch(`${sim.address(12)}/files/upload?path=evil.txt`, { method: 'POST', body: 'x', signal: AbortSignal.timeout(2000) });
    expect(res.status).to.equal(401);
    expect(await readdir(sim.rootOf(12))).to.not.include('evil.txt');
    expect((await call(13, 'GET', '/files?path=', 'a')).status).to.equal(409);
  });

  it('removes every folder it made when it stops', async () => {
    const own = await new AgentSimulator({ port: 0, bootMs: 0 }).start();
    await fetch(`${own.address(1)}/provision`, { method: 'POST', headers: { authorization: 'Bearer t' }, body: JSON.stringify({ payload: { agentToken: 't' } }) });
    const root = own.rootOf(1);
    await own.stop();
    expect(await stat(root).catch(() => 'gone')).to.equal('gone');
  });
});

describe('AgentSimulator with a state folder (the embedded default), across a stop and a start', () => {
  let dir: string;
  const started: AgentSimulator[] = [];
  const start = async (options: { bootMs: number; port?: number }) => {
    const sim = await new AgentSimulator({ port: 0, ...options, stateDir: dir }).start();
    started.push(sim);
    return sim;
  };
  const provisionIn = (sim: AgentSimulator, vmid: number) => fetch(`${sim.address(vmid)}/provision`, {
    method: 'POST', headers: { authorization: 'Bearer t' }, body: JSON.stringify({ payload: { agentToken: 't', type: 'minecraft' } }), signal: AbortSignal.timeout(2000),
  });
  const readyOf = async (sim: AgentSimulator, vmid: number) => (await fetch(`${sim.address(vmid)}/ready`, { headers: { authorization: 'Bearer t' } })).json();
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'zpack-agent-state-')); });
  afterEach(async () => {
    for (const sim of started.splice(0)) await sim.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('listens on the port it had, so the agent addresses the control plane stored still name it', async () => {
    const first = await start({ bootMs: 0 });
    const { url } = first;
    await first.stop();
    const second = await start({ bootMs: 0 });
    expect(second.url).to.equal(url);
  });

  it('takes a free port when another program holds the one it had', async () => {
    const first = await start({ bootMs: 0 });
    const { url } = first;
    await first.stop();
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(Number(new URL(url).port), '127.0.0.1', resolve));
    try {
      const second = await start({ bootMs: 0 });
      expect(second.url).to.not.equal(url);
      expect(await readyOf(second, 1)).to.deep.equal({ ready: false, phase: 'unprovisioned' });
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('finds a server that was running still running, with its pid, rather than booting it again', async () => {
    const first = await start({ bootMs: 50 });
    expect((await provisionIn(first, 7)).status).to.equal(200);
    await sleep(80);
    expect(first.containers().get(7)).to.include({ state: 'running', pid: 1001 });
    await first.stop();
    // A boot this long would still be under way when the second start is asked.
    const second = await start({ bootMs: 60_000 });
    expect(second.containers().get(7)).to.include({ state: 'running', pid: 1001 });
    expect(await readyOf(second, 7)).to.deep.equal({ ready: true, phase: 'running' });
  });

  it('lets a server that was booting finish at the time it would have', async () => {
    const first = await start({ bootMs: 300 });
    await provisionIn(first, 8);
    await first.stop();
    const second = await start({ bootMs: 60_000 });
    expect(second.containers().get(8)).to.include({ state: 'starting', pid: 1001 });
    await sleep(350);
    expect(second.containers().get(8)).to.include({ state: 'running', pid: 1001 });
  });
});
