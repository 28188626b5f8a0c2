import { expect } from 'chai';
import Cloudflare, { AuthenticationError, BadRequestError, NotFoundError } from 'cloudflare';
import { CloudflareSimulator } from './simulator';

const TOKEN = 'sdk-test-token';
const ZONE = '9a7806061c88ada191ed06f989cc3dac';
const srv = (host: string, port = 25565) =>
  ({ zone_id: ZONE, type: 'SRV' as const, name: `_minecraft._tcp.${host}.play.example.test`, ttl: 1 as const, data: { priority: 0, weight: 5, port, target: 'proxy.play.example.test' } });

/** The simulator driven by the official Cloudflare SDK: it must answer as the real v4 API does. */
describe('Cloudflare simulator, driven by the official cloudflare SDK', () => {
  const sim = new CloudflareSimulator({ port: 0, apiToken: TOKEN });
  let cf: Cloudflare;
  before(async () => {
    cf = new Cloudflare({ apiToken: TOKEN, baseURL: await sim.start(), maxRetries: 0 });
  });
  after(() => sim.stop());
  beforeEach(() => sim.reset());

  it('creates an SRV record and reads it back through a name.exact filter', async () => {
    const created = await cf.dns.records.create(srv('mc-1'));
    await cf.dns.records.create(srv('mc-11'));
    const page = await cf.dns.records.list({ zone_id: ZONE, type: 'SRV', name: { exact: '_minecraft._tcp.mc-1.play.example.test' } });
    expect(page.result.map((r) => r.id)).to.deep.equal([created.id]);
    expect(sim.requests.at(-1)!.query).to.include({ 'name.exact': '_minecraft._tcp.mc-1.play.example.test', type: 'SRV' });
  });

  it('filters by name.contains, name.startswith and name.endswith as the API does', async () => {
    for (const host of ['mc-1', 'mc-2', 'web-1']) await cf.dns.records.create(srv(host));
    const names = async (name: Cloudflare.DNS.RecordListParams['name']) =>
      (await cf.dns.records.list({ zone_id: ZONE, name })).result.map((r) => r.name).sort();
    expect(await names({ contains: 'mc-' })).to.have.length(2);
    expect(await names({ startswith: '_minecraft._tcp.web' })).to.deep.equal(['_minecraft._tcp.web-1.play.example.test']);
    expect(await names({ endswith: 'mc-2.play.example.test' })).to.deep.equal(['_minecraft._tcp.mc-2.play.example.test']);
  });

  it('pages with result_info: the SDK walks every page of per_page records', async () => {
    for (let i = 0; i < 5; i++) await cf.dns.records.create(srv(`mc-${i}`));
    const first = await cf.dns.records.list({ zone_id: ZONE, per_page: 2 });
    expect(first.result).to.have.length(2);
    const all: string[] = [];
    for await (const record of cf.dns.records.list({ zone_id: ZONE, per_page: 2 })) all.push(record.id);
    expect(new Set(all).size).to.equal(5);
    // The SDK stops at the first empty page, as the real API answers one past the last.
    expect(sim.requests.filter((r) => r.method === 'GET').map((r) => r.query.page ?? '1')).to.deep.equal(['1', '1', '2', '3', '4']);
    expect(first.result_info).to.deep.include({ page: 1, per_page: 2, count: 2, total_count: 5, total_pages: 3 });
  });

  it('updates with PUT and edits with PATCH, keeping the id', async () => {
    const created = await cf.dns.records.create(srv('mc-7'));
    const { zone_id: _zone, ...body } = srv('mc-7', 30007);
    const updated = await cf.dns.records.update(created.id, { zone_id: ZONE, ...body });
    expect(updated).to.deep.include({ id: created.id });
    expect((updated as { data?: { port?: number } }).data?.port).to.equal(30007);
    const edited = await cf.dns.records.edit(created.id, { zone_id: ZONE, type: 'SRV', name: body.name, ttl: 1, comment: 'edited' });
    expect(edited).to.deep.include({ id: created.id, comment: 'edited' });
  });

  it('deletes a record, answering its id; a second delete is 404 with code 81044', async () => {
    const created = await cf.dns.records.create(srv('mc-8'));
    expect(await cf.dns.records.delete(created.id, { zone_id: ZONE })).to.deep.equal({ id: created.id });
    const err = await cf.dns.records.delete(created.id, { zone_id: ZONE }).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(NotFoundError);
    expect((err as NotFoundError).errors).to.deep.equal([{ code: 81044, message: 'Record does not exist.' }]);
  });

  it('refuses an identical record with 400 and code 81058', async () => {
    await cf.dns.records.create(srv('mc-9'));
    const err = await cf.dns.records.create(srv('mc-9')).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(BadRequestError);
    expect((err as BadRequestError).errors.map((e) => e.code)).to.deep.equal([81058]);
  });

  it('answers a bad token with 401 and code 10000, the SDK raising AuthenticationError', async () => {
    const stranger = new Cloudflare({ apiToken: 'not-the-token', baseURL: sim.url, maxRetries: 0 });
    const err = await stranger.dns.records.list({ zone_id: ZONE }).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(AuthenticationError);
    expect((err as AuthenticationError).errors).to.deep.equal([{ code: 10000, message: 'Authentication error' }]);
  });

  it('sends 429 with Retry-After, which the SDK honours before retrying', async () => {
    sim.faults.rateLimitNext(1, 1);
    const patient = new Cloudflare({ apiToken: TOKEN, baseURL: sim.url, maxRetries: 1 });
    const started = Date.now();
    await patient.dns.records.list({ zone_id: ZONE });
    expect(sim.requests.map((r) => r.status)).to.deep.equal([429, 200]);
    expect(Date.now() - started).to.be.at.least(900);
  });
});
