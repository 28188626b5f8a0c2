import { expect } from 'chai';
import { ProviderError } from '../../kernel/api';
import type { ContainerSpec } from '../../kernel/api';
import { SimulatedProxmox } from './testing/fixture';
import type { ProxmoxHosting } from './provider';
import type { ProxmoxSimulator } from './testing/simulator';

const spec: ContainerSpec = {
  vmid: 2001, node: 'pve1', operationId: '5d2b7c1a-0f3e-4a9b-8c6d-2e1f0a9b8c7d', instanceId: '1c9d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
  instanceName: 'Dev', template: 'node', memoryMb: 1024, cores: 1, diskGb: 4,
};

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err, 'expected a ProviderError').to.be.instanceOf(ProviderError);
  return err as ProviderError;
}

describe('Proxmox client under faults (against the simulator)', () => {
  const proxmox = new SimulatedProxmox();
  let sim: ProxmoxSimulator;
  let hosting: ProxmoxHosting;
  const calls = (method: string, path: string) => sim.requests.filter((r) => r.method === method && r.path === path).length;

  before(async () => {
    await proxmox.start();
    sim = proxmox.simulator;
  });
  after(() => proxmox.stop());
  beforeEach(() => {
    sim.reset();
    hosting = proxmox.hosting();
  });

  it('retries a GET through two 5xx answers and returns the third', async () => {
    await hosting.create(spec);
    sim.requests.length = 0;
    sim.faults.failNext(2, 503);
    expect(await hosting.locate(2001)).to.equal('pve1');
    expect(calls('GET', '/cluster/resources')).to.equal(3);
  });

  it('gives up a GET after the configured retries, with the status and body', async () => {
    sim.faults.errorRatio = 1;
    const err = await rejection(hosting.locate(2001));
    expect(err.details).to.deep.include({ operation: 'cluster resources', status: 500, body: { data: null, message: 'cluster not ready - no quorum?\n' } });
    expect(calls('GET', '/cluster/resources')).to.equal(3);
  });

  it('never repeats a POST that failed with a 5xx', async () => {
    sim.faults.failNext(1);
    const err = await rejection(hosting.create(spec));
    expect(err.details).to.include({ operation: 'create', status: 500 });
    expect(calls('POST', '/nodes/pve1/lxc')).to.equal(1);
    expect(sim.containers()).to.deep.equal([]);
  });

  it('reports a task that ends in error with its exit status', async () => {
    sim.faults.taskError = 1;
    const err = await rejection(hosting.create(spec));
    expect(err.details).to.include({ operation: 'task vzcreate', reason: 'task_failed', exitstatus: 'command failed' });
    expect(err.message).to.equal('proxmox task vzcreate: command failed');
    expect(sim.containers()).to.deep.equal([]);
  });

  it('surfaces a config lock timeout and leaves the container as it was', async () => {
    const ref = await hosting.create(spec);
    sim.faults.lockTimeout = 1;
    const err = await rejection(hosting.start(ref));
    expect(err.details).to.include({ operation: 'start', reason: 'lock_timeout', status: 500 });
    expect(err.message).to.include("can't lock file '/run/lock/lxc/pve-config-2001.conf' - got timeout");
    expect(sim.containers()[0].status).to.equal('stopped');
  });

  it('fails a POST whose connection is dropped, without hanging', async () => {
    sim.faults.dropConnections = 1;
    const err = await rejection(hosting.create(spec));
    expect(err.details).to.include({ operation: 'create', reason: 'network' });
    expect(calls('POST', '/nodes/pve1/lxc')).to.equal(1);
  });

  it('reads through a dropped connection by retrying the GET', async () => {
    sim.faults.dropConnections = 1;
    expect(await hosting.status({ vmid: 2001, node: 'pve1' })).to.equal('missing');
    expect(calls('GET', '/nodes/pve1/lxc/2001/status/current')).to.equal(2);
  });

  it('gives up on a slow answer at timeoutMs, naming the operation', async () => {
    sim.faults.latencyMs = 400;
    const started = Date.now();
    const err = await rejection(proxmox.hosting({ timeoutMs: 100, retries: 0 }).status({ vmid: 2001, node: 'pve1' }));
    expect(Date.now() - started).to.be.lessThan(350);
    expect(err.details).to.include({ operation: 'status', reason: 'timeout' });
    expect(err.message).to.equal('proxmox status: no answer within 100 ms');
  });

  it('gives up on a task still running at taskTimeoutMs', async () => {
    const slow = await new SimulatedProxmox({ taskMs: 5_000 }).start();
    try {
      const err = await rejection(slow.hosting({ taskTimeoutMs: 1_500 }).create(spec));
      expect(err.details).to.include({ operation: 'task vzcreate', reason: 'task_timeout' });
    } finally {
      await slow.stop();
    }
  });

  it('answers a wrong token with 401, not retried', async () => {
    const err = await rejection(proxmox.hosting({ tokenSecret: 'wrong' }).findByOperation('5d2b7c1a-0f3e-4a9b-8c6d-2e1f0a9b8c7d'));
    expect(err.details).to.include({ operation: 'cluster resources', status: 401, reason: 'unauthorized' });
    expect(err.message).to.equal('proxmox cluster resources: invalid token value!');
    expect(calls('GET', '/cluster/resources')).to.equal(1);
  });
});
