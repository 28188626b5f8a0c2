import { expect } from 'chai';
import { ProviderError } from '../../kernel/api';
import { HeadscaleClient } from './client/headscale-client';
import { HeadscaleSimulator, SIMULATOR_API_KEY } from './testing/simulator';

describe('headscale client against the Headscale REST simulator', () => {
  let sim: HeadscaleSimulator;
  let client: HeadscaleClient;
  before(async () => {
    sim = new HeadscaleSimulator();
    await sim.start();
    client = new HeadscaleClient({ baseUrl: sim.url, apiKey: SIMULATOR_API_KEY, timeoutMs: 1000 });
  });
  after(() => sim.stop());
  afterEach(() => sim.faults.clear());

  const inAnHour = () => new Date(Date.now() + 3600_000);

  it('creates a single-use, non-ephemeral key that expires and carries the container’s tag', async () => {
    const key = await client.createPreAuthKey({ user: 'zpack', expiration: inAnHour(), aclTags: ['tag:dev-5000'] });
    expect(key).to.include({ reusable: false, ephemeral: false, used: false });
    expect(key.aclTags).to.deep.equal(['tag:dev-5000']);
    expect(sim.keys.at(-1)).to.include({ key: key.key, user: 'zpack' });
    expect(sim.use(key.key)).to.equal(true);
    expect(sim.use(key.key)).to.equal(false);
  });

  it('names the remote and the operation when Headscale refuses (401, an unknown user) or fails (5xx, a dropped connection)', async () => {
    const wrong = new HeadscaleClient({ baseUrl: sim.url, apiKey: 'nope', timeoutMs: 1000 });
    const refused = await wrong.createPreAuthKey({ user: 'zpack', expiration: inAnHour(), aclTags: [] }).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(ProviderError);
    expect((refused as ProviderError).message).to.equal('headscale create pre-auth key: answered 401');
    const unknown = await client.createPreAuthKey({ user: 'nobody', expiration: inAnHour(), aclTags: [] }).catch((e: unknown) => e);
    expect((unknown as ProviderError).details).to.include({ status: 404 });
    sim.faults.failNext(1, 503);
    expect(((await client.createPreAuthKey({ user: 'zpack', expiration: inAnHour(), aclTags: [] }).catch((e: unknown) => e)) as ProviderError).details).to.include({ status: 503 });
    sim.faults.dropConnections = 1;
    expect(((await client.createPreAuthKey({ user: 'zpack', expiration: inAnHour(), aclTags: [] }).catch((e: unknown) => e)) as ProviderError).details).to.include({ reason: 'unreachable' });
  });

  it('gives up after its deadline when Headscale does not answer', async () => {
    sim.faults.latencyMs = 2000;
    const err = await client.createPreAuthKey({ user: 'zpack', expiration: inAnHour(), aclTags: [] }).catch((e: unknown) => e);
    expect((err as ProviderError).details).to.include({ reason: 'timeout' });
  });

  it('refuses an expired key and a key of a past expiration', async () => {
    const err = await client.createPreAuthKey({ user: 'zpack', expiration: new Date(Date.now() - 1000), aclTags: [] }).catch((e: unknown) => e);
    expect((err as ProviderError).details).to.include({ status: 400 });
  });
});
