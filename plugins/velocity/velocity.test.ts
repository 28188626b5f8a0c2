import { expect } from 'chai';
import type { InstanceView } from '../../kernel/api';
import { backendFor, backendName, vmidOf } from './backend';
import { velocityConfig } from './config';
import type { VelocityProxy } from './provider';
import { SimulatedBridge } from './testing/fixture';
import type { BridgeSimulator } from './testing/simulator';

describe('VelocityProxy (against the bridge simulator)', () => {
  const bridge = new SimulatedBridge();
  let sim: BridgeSimulator;
  let proxy: VelocityProxy;

  before(async () => {
    await bridge.start();
    sim = bridge.simulator;
  });
  after(() => bridge.stop());
  beforeEach(() => {
    sim.reset();
    proxy = bridge.proxy();
  });

  it('registers, lists and unregisters a backend', async () => {
    await proxy.register({ name: 'zp-5001', address: '10.0.0.12', port: 30001 });
    expect(sim.backends()).to.deep.equal([{ name: 'zp-5001', address: '10.0.0.12', port: 30001, forcedHosts: [] }]);
    expect(await proxy.list()).to.deep.equal([{ name: 'zp-5001', address: '10.0.0.12', port: 30001 }]);
    expect(await proxy.unregister('zp-5001')).to.equal('done');
    expect(sim.backends()).to.deep.equal([]);
  });

  it('updates a backend registered again under the same name, keeping one entry', async () => {
    await proxy.register({ name: 'zp-5001', address: '10.0.0.12', port: 30001 });
    await proxy.register({ name: 'zp-5001', address: '10.0.0.12', port: 30001 });
    await proxy.register({ name: 'zp-5001', address: '10.0.0.40', port: 30002 });
    expect(sim.backends()).to.deep.equal([{ name: 'zp-5001', address: '10.0.0.40', port: 30002, forcedHosts: [] }]);
  });

  it("answers 'already_gone' for a name the proxy does not know", async () => {
    expect(await proxy.unregister('zp-4242')).to.equal('already_gone');
  });

  it('forgets every backend when the proxy restarts, and keeps serving on the same address', async () => {
    await proxy.register({ name: 'zp-5001', address: '10.0.0.12', port: 30001 });
    const url = sim.url;
    await sim.restart();
    expect(sim.url).to.equal(url);
    expect(await proxy.list()).to.deep.equal([]);
    await proxy.register({ name: 'zp-5002', address: '10.0.0.13', port: 30002 });
    expect(sim.backends().map((b) => b.name)).to.deep.equal(['zp-5002']);
  });

  it('rejects a backend the bridge finds malformed, naming the operation', async () => {
    const err = await proxy.register({ name: 'zp-5001', address: '', port: 30001 }).then(() => null, (e: Error) => e);
    expect(err?.message).to.match(/^velocity register: /);
    expect((err as any).details).to.include({ remote: 'velocity', operation: 'register', status: 400, reason: 'http' });
    expect(sim.backends()).to.deep.equal([]);
  });
});

describe('backend naming', () => {
  const instance = (overrides: Partial<InstanceView> = {}): InstanceView => ({
    id: '6f1c3a52-0000-4000-8000-000000000001', ownerId: '6f1c3a52-0000-4000-8000-000000000002', kind: 'game', type: 'minecraft',
    name: 'Survival', state: 'running', vmid: 5007, node: 'pve1', address: 'http://10.0.0.7:7070', host: '10.0.0.7',
    ports: [{ name: 'query', port: 30100, protocol: 'udp' }, { name: 'game', port: 30007, protocol: 'tcp' }], payload: {}, createdAt: new Date(),
    ...overrides,
  });

  it('names a server zp-<vmid> at the container host and the game port', () => {
    expect(backendFor(instance())).to.deep.equal({ name: 'zp-5007', address: '10.0.0.7', port: 30007 });
    expect(backendFor(instance({ address: 'http://127.0.0.1:7071/ct/5007', host: 'fd00::7' })).address).to.equal('fd00::7');
  });

  it('gives the backend the player address as its forced host, in lower case without a trailing dot', () => {
    expect(backendFor(instance(), 'MC-5007.Play.Example.Test.')).to.deep.equal({
      name: 'zp-5007', address: '10.0.0.7', port: 30007, forcedHosts: ['mc-5007.play.example.test'],
    });
    expect(backendFor(instance(), null), 'no player address: no forced host').to.deep.equal({ name: 'zp-5007', address: '10.0.0.7', port: 30007 });
  });

  it('refuses a server without a VMID, a host or a game port, saying which', () => {
    expect(() => backendFor(instance({ vmid: null, host: null, ports: [] }))).to.throw(/has no VMID, host, game port/);
    expect(() => backendFor(instance({ ports: [{ name: 'query', port: 30100, protocol: 'udp' }] }))).to.throw(/has no game port/);
  });

  it('reads the VMID back from a backend name, and nothing from a foreign one', () => {
    expect(vmidOf(backendName(5007))).to.equal(5007);
    expect(vmidOf('lobby')).to.equal(null);
    expect(vmidOf('zp-50x')).to.equal(null);
  });
});

describe('velocity config', () => {
  it('requires bridgeUrl, bridgeToken and proxyToken unless simulate is on', () => {
    const parsed = velocityConfig.safeParse({});
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).to.deep.equal(['bridgeUrl', 'bridgeToken', 'proxyToken']);
    expect(velocityConfig.safeParse({ simulate: true }).success).to.equal(true);
    expect(velocityConfig.safeParse({ bridgeUrl: 'http://velocity:8577', bridgeToken: 'b', proxyToken: 'p' }).success).to.equal(true);
  });

  it('defaults the simulator to a free port and resyncs 32 at a time', () => {
    const config = velocityConfig.parse({ simulate: true });
    expect(config.simulator).to.deep.equal({ host: '127.0.0.1', port: 0, playerPort: 0, latencyMs: 0 });
    expect(config.resyncConcurrency).to.equal(32);
  });
});
