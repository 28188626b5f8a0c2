import { expect } from 'chai';
import { ProviderError } from '../../kernel/api';
import { srvRecordName, type CloudflareEdge } from './provider';
import { SimulatedCloudflare, TEST_SRV_SERVICE, TEST_TARGET, TEST_ZONE, gameInstance } from './testing/fixture';
import type { CloudflareSimulator } from './testing/simulator';

const NAME = srvRecordName(TEST_SRV_SERVICE, 5001, TEST_ZONE.name);
const srv = (overrides: { name?: string; port?: number; target?: string; ttl?: number } = {}) => ({
  type: 'SRV', name: overrides.name ?? NAME, ttl: overrides.ttl ?? 1,
  data: { priority: 0, weight: 5, port: overrides.port ?? 25565, target: overrides.target ?? TEST_TARGET },
});

describe('CloudflareEdge (against the Cloudflare simulator)', () => {
  const cloudflare = new SimulatedCloudflare();
  let sim: CloudflareSimulator;
  let edge: CloudflareEdge;
  const records = () => sim.records(TEST_ZONE.id);
  const writes = () => sim.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.status}`);

  before(async () => {
    await cloudflare.start();
    sim = cloudflare.simulator;
  });
  after(() => cloudflare.stop());
  beforeEach(() => {
    sim.reset();
    edge = cloudflare.edge();
  });

  it('publishes one SRV record that points players at the proxy', async () => {
    const record = await edge.publish(gameInstance());
    expect(record).to.deep.equal({ id: records()[0].id, name: '_minecraft._tcp.mc-5001.play.example.test', target: TEST_TARGET, port: 25565 });
    expect(records()).to.have.length(1);
    expect(records()[0]).to.deep.include({
      type: 'SRV', name: '_minecraft._tcp.mc-5001.play.example.test', ttl: 1, content: `5 25565 ${TEST_TARGET}`,
      data: { priority: 0, weight: 5, port: 25565, target: TEST_TARGET }, comment: `zpack instance ${gameInstance().id}`,
    });
  });

  it('publishing twice leaves one record and writes nothing the second time', async () => {
    const first = await edge.publish(gameInstance());
    const second = await edge.publish(gameInstance());
    expect(second).to.deep.equal(first);
    expect(records().map((r) => r.id)).to.deep.equal([first.id]);
    expect(writes()).to.deep.equal(['POST 200']);
  });

  it('rewrites a record that points elsewhere in place', async () => {
    const stale = sim.addRecord(TEST_ZONE.id, srv({ target: 'old-proxy.example.test', port: 25577, ttl: 300 }));
    const record = await cloudflare.edge({ port: 25570 }).publish(gameInstance());
    expect(record).to.deep.equal({ id: stale.id, name: NAME, target: TEST_TARGET, port: 25570 });
    expect(records()).to.have.length(1);
    expect(records()[0]).to.deep.include({ id: stale.id, ttl: 1, data: { priority: 0, weight: 5, port: 25570, target: TEST_TARGET } });
  });

  it('collapses duplicates with its name into the one already right', async () => {
    sim.addRecord(TEST_ZONE.id, srv({ target: 'old-proxy.example.test' }));
    const right = sim.addRecord(TEST_ZONE.id, { ...srv(), comment: `zpack instance ${gameInstance().id}` });
    sim.addRecord(TEST_ZONE.id, srv({ port: 25577 }));
    const other = sim.addRecord(TEST_ZONE.id, srv({ name: srvRecordName(TEST_SRV_SERVICE, 5002, TEST_ZONE.name) }));

    const record = await edge.publish(gameInstance());
    expect(record.id).to.equal(right.id);
    expect(records().map((r) => r.id)).to.deep.equal([right.id, other.id]);
    expect(writes()).to.deep.equal(['DELETE 200', 'DELETE 200']);
  });

  it('collapses duplicates none of which is right into the first, rewritten', async () => {
    const first = sim.addRecord(TEST_ZONE.id, srv({ target: 'old-proxy.example.test' }));
    sim.addRecord(TEST_ZONE.id, srv({ port: 25577 }));

    expect((await edge.publish(gameInstance())).id).to.equal(first.id);
    expect(records()).to.have.length(1);
    expect(records()[0]).to.deep.include({ id: first.id, data: { priority: 0, weight: 5, port: 25565, target: TEST_TARGET } });
    expect(writes()).to.deep.equal(['PUT 200', 'DELETE 200']);
  });

  it('keeps one of several concurrent publishes of the same instance', async () => {
    await Promise.all(Array.from({ length: 4 }, () => edge.publish(gameInstance())));
    expect(records().filter((r) => r.name === NAME)).to.have.length(1);
  });

  it('after a create answered 5xx, looks the name up again before creating', async () => {
    sim.faults.failNext(1, 503, 'POST');
    await edge.publish(gameInstance());
    expect(sim.requests.map((r) => `${r.method} ${r.status}`)).to.deep.equal(['GET 200', 'POST 503', 'GET 200', 'POST 200']);
    expect(records()).to.have.length(1);
  });

  it('refuses an instance whose type declares no SRV service, and one without a VMID, writing nothing', async () => {
    const dev = await edge.publish(gameInstance({ kind: 'dev', type: 'node' })).catch((e: unknown) => e);
    expect(dev).to.be.instanceOf(ProviderError);
    expect((dev as ProviderError).details).to.include({ remote: 'cloudflare', operation: 'publish', reason: 'no_srv_service' });
    const unallocated = await edge.publish(gameInstance({ vmid: null })).catch((e: unknown) => e);
    expect((unallocated as ProviderError).details).to.include({ reason: 'no_vmid' });
    expect(sim.requests).to.deep.equal([]);
  });

  it('unpublishes every record with the name, then answers already_gone', async () => {
    await edge.publish(gameInstance());
    sim.addRecord(TEST_ZONE.id, srv({ port: 25577 }));
    const neighbour = await edge.publish(gameInstance({ id: 'a1b2c3d4-0000-4000-8000-000000000002', vmid: 5002 }));
    expect(await edge.unpublish(gameInstance())).to.equal('done');
    expect(records().map((r) => r.id)).to.deep.equal([neighbour.id]);
    expect(await edge.unpublish(gameInstance())).to.equal('already_gone');
  });

  it('unpublishing an instance that never had a record is already_gone', async () => {
    expect(await edge.unpublish(gameInstance({ vmid: 5009 }))).to.equal('already_gone');
    expect(await edge.unpublish(gameInstance({ vmid: null }))).to.equal('already_gone');
  });

  it('lists the SRV records it manages under its zone name, across pages', async () => {
    for (let vmid = 6000; vmid < 6205; vmid++) sim.addRecord(TEST_ZONE.id, srv({ name: srvRecordName(TEST_SRV_SERVICE, vmid, TEST_ZONE.name) }));
    sim.addRecord(TEST_ZONE.id, srv({ name: '_minecraft._tcp.mc-7000.staging.example.test' }));
    sim.addRecord(TEST_ZONE.id, srv({ name: '_sip._tcp.play.example.test' }));
    sim.addRecord(TEST_ZONE.id, { type: 'A', name: 'proxy.play.example.test', content: '192.0.2.10' });
    sim.addRecord('0c0ffee00c0ffee00c0ffee00c0ffee0', srv({ name: srvRecordName(TEST_SRV_SERVICE, 7001, TEST_ZONE.name) }));

    const listed = await cloudflare.edge({ listPageSize: 100 }).list();
    expect(listed).to.have.length(205);
    expect(listed[0]).to.deep.equal({ id: records()[0].id, name: srvRecordName(TEST_SRV_SERVICE, 6000, TEST_ZONE.name), target: TEST_TARGET, port: 25565 });
    expect(sim.requests.map((r) => r.query.page)).to.deep.equal(['1', '2', '3']);
  });
});
