import { expect } from 'chai';
import { ProviderError } from '../../kernel/api';
import { SimulatedBridge } from './testing/fixture';
import type { BridgeSimulator } from './testing/simulator';

const backend = { name: 'zp-5001', address: '10.0.0.12', port: 30001 };

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err, 'expected a ProviderError').to.be.instanceOf(ProviderError);
  return err as ProviderError;
}

describe('Velocity bridge client under faults (against the simulator)', () => {
  const bridge = new SimulatedBridge();
  let sim: BridgeSimulator;
  const calls = (method: string, path: string) => sim.requests.filter((r) => r.method === method && r.path === path).length;

  before(async () => {
    await bridge.start();
    sim = bridge.simulator;
  });
  after(() => bridge.stop());
  beforeEach(() => sim.reset());

  it('retries a registration through two 5xx answers and registers once', async () => {
    sim.faults.failNext(2, 503);
    await bridge.client().register(backend);
    expect(calls('PUT', '/servers/zp-5001')).to.equal(3);
    expect(sim.backends()).to.deep.equal([{ ...backend, forcedHosts: [] }]);
  });

  it('gives up after the configured retries, with the status and body', async () => {
    sim.faults.errorRatio = 1;
    const err = await rejection(bridge.client().list());
    expect(err.details).to.deep.include({ remote: 'velocity', operation: 'list', status: 503, body: { error: 'unavailable', message: 'proxy busy' } });
    expect(err.message).to.equal('velocity list: proxy busy');
    expect(calls('GET', '/servers')).to.equal(3);
  });

  it('answers a wrong bridge token with 401, not retried', async () => {
    const err = await rejection(bridge.client({ token: 'wrong' }).register(backend));
    expect(err.details).to.include({ operation: 'register', status: 401, reason: 'unauthorized' });
    expect(err.message).to.equal('velocity register: invalid bridge token');
    expect(calls('PUT', '/servers/zp-5001')).to.equal(1);
  });

  it('unregisters through a dropped connection by asking again', async () => {
    await bridge.client().register(backend);
    sim.faults.dropConnections = 1;
    expect(await bridge.client().unregister('zp-5001')).to.equal('done');
    expect(calls('DELETE', '/servers/zp-5001')).to.equal(2);
    expect(sim.backends()).to.deep.equal([]);
  });

  it('fails a call whose connection keeps dropping, without hanging', async () => {
    sim.faults.dropConnections = 5;
    const err = await rejection(bridge.client({ retries: 1 }).register(backend));
    expect(err.details).to.include({ operation: 'register', reason: 'network' });
    expect(calls('PUT', '/servers/zp-5001')).to.equal(2);
  });

  it('gives up on a slow answer at timeoutMs, naming the operation', async () => {
    sim.faults.latencyMs = 400;
    const started = Date.now();
    const err = await rejection(bridge.client({ timeoutMs: 100, retries: 0 }).list());
    expect(Date.now() - started).to.be.lessThan(350);
    expect(err.details).to.include({ operation: 'list', reason: 'timeout' });
    expect(err.message).to.equal('velocity list: no answer within 100 ms');
  });

  it('never mistakes a wrong bridge URL for a server that is already gone', async () => {
    const err = await rejection(bridge.client({ baseUrl: `${sim.url}/wrong` }).unregister('zp-5001'));
    expect(err.details).to.include({ operation: 'unregister', status: 404, reason: 'http' });
  });

  it('reconnects after the bridge restarts under a kept-alive connection', async () => {
    const client = bridge.client();
    await client.register(backend);
    await sim.restart();
    await client.register(backend);
    expect(sim.backends()).to.deep.equal([{ ...backend, forcedHosts: [] }]);
  });
});
