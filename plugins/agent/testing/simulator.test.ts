import { expect } from 'chai';
import { readdir, stat } from 'node:fs/promises';
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
