import { expect } from 'chai';
import { WebSocket } from 'ws';
import { AgentSimulator } from './simulator';
import { simulatedArtifactSha256 } from './sim-dev';

const NODE_22 = 'https://artifacts.zpack.test/node-22.tar.gz';
const NODE_20 = 'https://artifacts.zpack.test/node-20.tar.gz';

describe('AgentSimulator dev containers: runtime installs with hash checks and a fake code-server', () => {
  let sim: AgentSimulator;
  before(async () => {
    sim = await new AgentSimulator({ port: 0, bootMs: 0 }).start();
  });
  after(() => sim.stop());
  beforeEach(() => sim.reset());

  async function call(vmid: number, method: 'GET' | 'POST', path: string, body?: unknown) {
    const res = await fetch(`${sim.address(vmid)}${path}`, {
      method, headers: { authorization: 'Bearer t' }, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(2000),
    });
    return { status: res.status, body: await res.json() as Record<string, any> };
  }
  const devPayload = (sha256 = simulatedArtifactSha256(NODE_22), enabled = true) => ({
    agentToken: 't', type: 'codeserver', runtime: { name: 'node', version: '22', artifact: NODE_22, sha256 },
    devUser: 'dev', workspace: '/home/dev/workspace', codeServer: { enabled, port: 6000 },
  });

  it('refuses to provision a dev container whose runtime artifact does not match its hash', async () => {
    const res = await call(1, 'POST', '/provision', { payload: devPayload('0'.repeat(64)) });
    expect(res.status).to.equal(422);
    expect(res.body).to.include({ error: 'artifact_hash_mismatch', expected: '0'.repeat(64), actual: simulatedArtifactSha256(NODE_22) });
    expect(sim.containers().get(1)?.token).to.equal(undefined);
  });

  it('reports the runtime, provisioningComplete and code-server state and memory in /status', async () => {
    expect((await call(2, 'POST', '/provision', { payload: devPayload() })).status).to.equal(200);
    const status = (await call(2, 'GET', '/status')).body;
    expect(status).to.deep.include({ provisioningComplete: true, devUser: 'dev', workspace: '/home/dev/workspace' });
    expect(status.runtime).to.deep.equal({ name: 'node', active: '22', previous: null, installed: ['22'] });
    expect(status.codeServer.state).to.equal('running');
    expect(status.codeServer.memoryBytes).to.be.greaterThan(1024 * 1024 * 1024);
  });

  it('installs next to the active runtime only when the hash matches, and switches on activate', async () => {
    await call(3, 'POST', '/provision', { payload: devPayload() });
    const bad = await call(3, 'POST', '/dev/runtime/install', { runtime: 'node', version: '20', artifact: NODE_20, sha256: 'f'.repeat(64) });
    expect(bad.status).to.equal(422);
    expect(bad.body.error).to.equal('artifact_hash_mismatch');
    expect((await call(3, 'POST', '/dev/runtime/activate', { version: '20' })).status).to.equal(409);
    const good = await call(3, 'POST', '/dev/runtime/install', { runtime: 'node', version: '20', artifact: NODE_20, sha256: simulatedArtifactSha256(NODE_20) });
    expect(good.body.runtime).to.deep.include({ active: '22', installed: ['22', '20'] });
    expect((await call(3, 'POST', '/dev/runtime/activate', { version: '20' })).body.runtime).to.deep.include({ active: '20', previous: '22' });
  });

  it('serves code-server pages and a WebSocket echo, logs every request, and refuses connections when stopped', async () => {
    await call(4, 'POST', '/provision', { payload: devPayload() });
    const base = `${sim.address(4)}/codeserver`;
    const page = await fetch(`${base}/`);
    expect(await page.text()).to.include('code-server in dev container 4');
    const ws = new WebSocket(`${base.replace('http', 'ws')}/stable`);
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send('echo me');
    expect(String(await new Promise((resolve) => ws.once('message', resolve)))).to.equal('echo me');
    ws.close();
    expect(sim.codeServerRequests.map((r) => [r.vmid, r.path, r.upgrade])).to.deep.equal([[4, '/', false], [4, '/stable', true]]);
    expect((await call(4, 'POST', '/dev/codeserver/stop')).body.codeServer).to.include({ state: 'stopped', memoryBytes: null });
    const refused = await fetch(`${base}/`).then(() => 'answered', () => 'refused');
    expect(refused).to.equal('refused');
    expect((await call(4, 'POST', '/dev/codeserver/start')).body.codeServer.state).to.equal('running');
  });

  it('answers 409 to dev routes of a game container', async () => {
    await call(5, 'POST', '/provision', { payload: { agentToken: 't', type: 'minecraft', version: '1.21.4' } });
    expect((await call(5, 'POST', '/dev/codeserver/start')).status).to.equal(409);
  });
});
