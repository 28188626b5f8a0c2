import { expect } from 'chai';
import { ProviderError } from '../../kernel/api';
import { SimulatedCloudflare, TEST_ZONE, gameInstance } from './testing/fixture';
import type { CloudflareSimulator } from './testing/simulator';

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err, 'expected a ProviderError').to.be.instanceOf(ProviderError);
  return err as ProviderError;
}

describe('Cloudflare client under faults (against the simulator)', () => {
  const cloudflare = new SimulatedCloudflare();
  let sim: CloudflareSimulator;
  const records = () => sim.records(TEST_ZONE.id);
  const answered = () => sim.requests.map((r) => `${r.method} ${r.status}`);

  before(async () => {
    await cloudflare.start();
    sim = cloudflare.simulator;
  });
  after(() => cloudflare.stop());
  beforeEach(() => sim.reset());

  it('waits out a 429 for its Retry-After, then succeeds', async () => {
    sim.faults.rateLimitNext(1, 1);
    const started = Date.now();
    await cloudflare.edge().publish(gameInstance());
    expect(Date.now() - started).to.be.at.least(950);
    expect(answered()).to.deep.equal(['GET 429', 'GET 200', 'POST 200']);
    expect(sim.requests[1].at - sim.requests[0].at).to.be.at.least(950);
    expect(records()).to.have.length(1);
  });

  it('retries a rate-limited create itself: Cloudflare did not perform it', async () => {
    sim.faults.rateLimitNext(1, 0, 'POST');
    await cloudflare.edge().publish(gameInstance());
    expect(answered()).to.deep.equal(['GET 200', 'POST 429', 'POST 200']);
  });

  it('gives up at once when Retry-After is past the call deadline', async () => {
    sim.faults.rateLimitNext(1, 30);
    const started = Date.now();
    const err = await rejection(cloudflare.edge({ deadlineMs: 2000 }).publish(gameInstance()));
    expect(Date.now() - started).to.be.lessThan(500);
    expect(err.details).to.include({ remote: 'cloudflare', operation: 'list dns records', reason: 'rate_limited', status: 429, retryAfterSeconds: 30 });
    expect(records()).to.deep.equal([]);
  });

  it('retries a lookup through two 5xx answers', async () => {
    sim.faults.failNext(2, 502);
    await cloudflare.edge().publish(gameInstance());
    expect(answered()).to.deep.equal(['GET 502', 'GET 502', 'GET 200', 'POST 200']);
  });

  it('fails after maxRetries on 5 consecutive 5xx, keeping the upstream status and body', async () => {
    sim.faults.failNext(5, 503);
    const err = await rejection(cloudflare.edge({ maxRetries: 3 }).publish(gameInstance()));
    expect(err.code).to.equal('provider_error');
    expect(err.message).to.equal('cloudflare list dns records: Service Unavailable (10002)');
    expect(err.details).to.deep.include({
      remote: 'cloudflare', operation: 'list dns records', reason: 'http', status: 503,
      body: { success: false, errors: [{ code: 10002, message: 'Service Unavailable' }], messages: [], result: null },
    });
    expect(answered()).to.deep.equal(Array(4).fill('GET 503'));
    expect(records()).to.deep.equal([]);
  });

  it('answers a wrong token with a 401 ProviderError, not retried', async () => {
    const err = await rejection(cloudflare.edge({ apiToken: 'wrong' }).publish(gameInstance()));
    expect(err.message).to.equal('cloudflare list dns records: Authentication error (10000)');
    expect(err.details).to.include({ operation: 'list dns records', reason: 'unauthorized', status: 401 });
    expect(answered()).to.deep.equal(['GET 401']);
  });

  it('gives up on a slow answer at timeoutMs, without hanging', async () => {
    sim.faults.latencyMs = 1500;
    const started = Date.now();
    const err = await rejection(cloudflare.edge({ timeoutMs: 100, maxRetries: 0 }).unpublish(gameInstance()));
    expect(Date.now() - started).to.be.lessThan(400);
    expect(err.message).to.equal('cloudflare list dns records: no answer within 100 ms');
    expect(err.details).to.include({ operation: 'list dns records', reason: 'timeout' });
  });

  it('stops retrying slow answers at the call deadline', async () => {
    sim.faults.latencyMs = 1500;
    const started = Date.now();
    const err = await rejection(cloudflare.edge({ timeoutMs: 200, deadlineMs: 600, maxRetries: 10 }).list());
    expect(Date.now() - started).to.be.lessThan(1000);
    expect(err.details).to.include({ reason: 'timeout' });
  });

  it('reads through a dropped connection by retrying the lookup', async () => {
    sim.faults.dropConnections = 1;
    expect(await cloudflare.edge().unpublish(gameInstance())).to.equal('already_gone');
    expect(answered()).to.deep.equal(['GET 0', 'GET 200']);
  });
});

describe('Cloudflare edge against a list that ignores its filter', () => {
  const cloudflare = new SimulatedCloudflare();
  let sim: CloudflareSimulator;
  const ownName = `_minecraft._tcp.mc-5001.${TEST_ZONE.name}`;
  const srv = (name: string, port: number) => ({ type: 'SRV', name, ttl: 1, data: { priority: 0, weight: 5, port, target: 'elsewhere.example.test' } });
  /** Records of the zone that are not instance 5001's SRV record: publish and unpublish must leave each one alone. */
  const bystanders = [
    srv(`_minecraft._tcp.mc-5002.${TEST_ZONE.name}`, 25565),
    srv(`_sip._tcp.${TEST_ZONE.name}`, 5060),
    { type: 'TXT', name: ownName, content: 'same name, another type' },
  ];
  const survivors = () => sim.records(TEST_ZONE.id).filter((r) => !(r.type === 'SRV' && r.name === ownName)).map((r) => `${r.type} ${r.name}`);
  const expected = bystanders.map((r) => `${r.type} ${r.name}`);

  before(async () => {
    await cloudflare.start();
    sim = cloudflare.simulator;
  });
  after(() => cloudflare.stop());
  beforeEach(() => {
    sim.reset();
    sim.faults.ignoreListFilter = true;
    for (const record of bystanders) sim.addRecord(TEST_ZONE.id, record);
  });

  it('publishes one record and deletes only its own stale duplicates', async () => {
    sim.addRecord(TEST_ZONE.id, srv(ownName, 1));
    sim.addRecord(TEST_ZONE.id, srv(ownName, 2));
    const published = await cloudflare.edge().publish(gameInstance());
    const own = sim.records(TEST_ZONE.id).filter((r) => r.type === 'SRV' && r.name === ownName);
    expect(own.map((r) => r.id)).to.deep.equal([published.id]);
    expect(survivors()).to.have.members(expected);
  });

  it('unpublishes only the instance\'s own SRV record', async () => {
    await cloudflare.edge().publish(gameInstance());
    expect(await cloudflare.edge().unpublish(gameInstance())).to.equal('done');
    expect(sim.records(TEST_ZONE.id).map((r) => `${r.type} ${r.name}`)).to.have.members(expected);
    expect(await cloudflare.edge().unpublish(gameInstance())).to.equal('already_gone');
  });

  it('lists only the records it manages', async () => {
    await cloudflare.edge().publish(gameInstance());
    expect((await cloudflare.edge().list()).map((r) => r.name)).to.have.members([ownName, `_minecraft._tcp.mc-5002.${TEST_ZONE.name}`]);
  });
});
