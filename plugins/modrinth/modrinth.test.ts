import { expect } from 'chai';
import pino from 'pino';
import sinon from 'sinon';
import { ModCatalog, ProviderError, RemoteUnavailableError, Tokens } from '../../kernel/api';
import { startTestKernel, type TestKernel, type TestUser } from '../../kernel/testing';
import { CatalogCache } from './client/cache';
import { ModrinthClient } from './client/modrinth-client';
import modrinthPlugin from './index';
import { ModrinthCatalog } from './provider';
import { ModrinthSimulator } from './testing/simulator';

describe('modrinth plugin', () => {
  let sim: ModrinthSimulator;
  let tk: TestKernel;
  let user: TestUser;
  let catalog: ModrinthCatalog;
  let clock = Date.now();
  let cache: CatalogCache;
  let client: ModrinthClient;

  before(async () => {
    sim = new ModrinthSimulator();
    await sim.start();
    tk = await startTestKernel({
      plugins: [modrinthPlugin],
      config: { plugins: { modrinth: { enabled: true, options: { simulate: false, baseUrl: sim.url, unavailableRetrySeconds: 9, cache: { freshSeconds: 60, keyPrefix: `t-${Date.now()}` } } } } },
    });
    user = await tk.user({ email: 'catalog@zpack.test' });
    cache = new CatalogCache(() => tk.kernel.resolve(Tokens.Redis), `${tk.prefix}:modrinth-test`, 600, pino({ level: 'silent' }));
    client = new ModrinthClient({ baseUrl: sim.url, userAgent: 'zpack-test', timeoutMs: 2000, freshSeconds: 60, maxFileBytes: 1 << 20, unavailableRetrySeconds: 9 }, cache, () => clock);
    catalog = new ModrinthCatalog(() => client);
  });
  beforeEach(() => sim.reset());
  after(async () => {
    await client?.close();
    await tk?.stop();
    await sim?.stop();
  });

  it('keeps its cache under the installation\'s redis.prefix when cache.keyPrefix is not set', async () => {
    const other = await startTestKernel({ plugins: [modrinthPlugin], config: { plugins: { modrinth: { enabled: true, options: { simulate: false, baseUrl: sim.url } } } } });
    try {
      const redis = other.kernel.resolve(Tokens.Redis);
      const shared = async () => (await redis.keys('zpack:modrinth:*')).length;
      const before = await shared();
      const someone = await other.user({ email: 'prefix@zpack.test' });
      expect((await someone.http.get(`/api/mods/search?q=sodium-${Date.now()}&limit=1`)).status).to.equal(200);
      await new Promise((r) => setTimeout(r, 50));
      expect(await redis.keys(`${other.prefix}:modrinth:*`)).to.have.length(1);
      expect(await shared()).to.equal(before);
    } finally {
      await other.stop();
    }
  });

  describe('the simulator', () => {
    it('holds a few dozen projects with dependency chains, incompatibilities and files with real hashes', () => {
      expect(sim.projects.length).to.be.at.least(30);
      const continuity = sim.version('continuity', '3.0.0+1.21.4');
      expect(continuity.dependencies).to.deep.equal([{ version_id: null, project_id: sim.project('indium').id, file_name: null, dependency_type: 'required' }]);
      expect(sim.version('phosphor', '0.9.0+1.21.4').dependencies[0]).to.include({ project_id: sim.project('starlight').id, dependency_type: 'incompatible' });
      expect(continuity.files[0].hashes.sha512).to.match(/^[a-f0-9]{128}$/);
      expect(continuity.files[0].hashes.sha1).to.match(/^[a-f0-9]{40}$/);
    });

    it('answers an unchanged GET with 304 to If-None-Match', async () => {
      const first = await fetch(`${sim.url}/project/sodium`);
      const etag = first.headers.get('etag')!;
      expect(etag).to.match(/^"[a-f0-9]{40}"$/);
      const again = await fetch(`${sim.url}/project/sodium`, { headers: { 'If-None-Match': etag } });
      expect(again.status).to.equal(304);
    });

    it('refuses malformed facets with 400 invalid_input', async () => {
      const res = await fetch(`${sim.url}/search?facets=${encodeURIComponent('[["colour:red"]]')}`);
      expect(res.status).to.equal(400);
      expect(await res.json()).to.include({ error: 'invalid_input' });
    });
  });

  describe('ModrinthCatalog (the ModCatalog port)', () => {
    it('searches with loader, game version and category facets', async () => {
      const res = await catalog.search({ loaders: ['fabric'], gameVersions: ['1.21.4'], categories: ['optimization'], offset: 0, limit: 50 });
      const slugs = res.hits.map((h) => h.slug);
      expect(slugs).to.include.members(['sodium', 'lithium', 'ferrite-core']);
      expect(slugs).to.not.include('create');
      expect(slugs).to.not.include('appleskin');
      expect(res.totalHits).to.equal(res.hits.length);
      expect(JSON.parse(sim.requests.at(-1)!.query.facets)).to.deep.equal([['categories:fabric'], ['versions:1.21.4'], ['categories:optimization']]);
    });

    it('reads a project, its versions filtered by loader and game version, newest first, and a version by id', async () => {
      const project = (await catalog.project('sodium'))!;
      expect(project).to.include({ slug: 'sodium', title: 'Sodium', projectType: 'mod', serverSide: 'optional' });
      const versions = await catalog.versions(project.id, { loaders: ['fabric'], gameVersions: ['1.21.4'] });
      expect(versions.map((v) => v.versionNumber)).to.deep.equal(['mc1.21.4-0.6.9', 'mc1.21.4-0.6.5']);
      const one = (await catalog.version(versions[0].id))!;
      expect(one.files[0]).to.include({ primary: true, filename: 'sodium-mc1.21.4-0.6.9.jar' });
      expect(await catalog.project('no-such-project')).to.equal(null);
    });

    it('finds versions by file hash', async () => {
      const v = sim.version('lithium', 'mc1.21.4-0.14.7');
      const found = await catalog.versionsByHash([v.files[0].hashes.sha512, 'f'.repeat(128)]);
      expect(Object.keys(found)).to.deep.equal([v.files[0].hashes.sha512]);
      expect(found[v.files[0].hashes.sha512].id).to.equal(v.id);
    });

    it('serves fresh answers from Redis, then revalidates with If-None-Match (304 keeps the answer)', async () => {
      await catalog.project('lithium');
      const asked = sim.count('/v2/project/lithium');
      await catalog.project('lithium');
      expect(sim.count('/v2/project/lithium')).to.equal(asked, 'fresh: Modrinth is not asked');
      clock += 61_000;
      const before = cache.stats.revalidated;
      expect((await catalog.project('lithium'))!.slug).to.equal('lithium');
      expect(sim.count('/v2/project/lithium')).to.equal(asked + 1);
      expect(sim.requests.at(-1)!.status).to.equal(304);
      expect(cache.stats.revalidated).to.equal(before + 1);
    });

    it("sends the cache's reads and writes of one turn to Redis together, and keeps Modrinth's bytes as they came", async () => {
      const redis = tk.kernel.resolve(Tokens.Redis);
      const pipelines = sinon.spy(redis, 'pipeline');
      try {
        const body = Buffer.from('{"hits":[],\n"total_hits":0}');
        cache.put('https://catalog.test/a', { etag: '"a1"', body, checkedAt: 1234 });
        const [a, b] = await Promise.all([cache.get('https://catalog.test/a'), cache.get('https://catalog.test/b')]);
        expect(pipelines.callCount).to.equal(1);
        expect(a).to.deep.equal({ etag: '"a1"', checkedAt: 1234, body });
        expect(b).to.equal(undefined);
        const stored = (await redis.getBuffer(cache.keyOf('https://catalog.test/a')))!;
        expect(stored.subarray(stored.length - body.length).equals(body)).to.equal(true);
        // An entry in another layout (the one before this) is a miss, not a failure.
        await redis.set(cache.keyOf('https://catalog.test/c'), JSON.stringify({ etag: null, body: {}, checkedAt: 1 }));
        expect(await cache.get('https://catalog.test/c')).to.equal(undefined);
      } finally {
        pipelines.restore();
      }
    });

    it('shares one request among identical lookups in flight', async () => {
      sim.faults.latencyMs = 50;
      const results = await Promise.all(Array.from({ length: 20 }, () => catalog.project('krypton')));
      expect(results.every((r) => r!.slug === 'krypton')).to.equal(true);
      expect(sim.count('/v2/project/krypton')).to.equal(1);
    });

    it("turns a 429 into RemoteUnavailableError carrying Modrinth's Retry-After, a 5xx into one with the default", async () => {
      sim.faults.rateLimitNext(1, 33);
      const limited = await catalog.search({ query: 'rate', offset: 0, limit: 5 }).catch((e) => e);
      expect(limited).to.be.instanceOf(RemoteUnavailableError);
      expect(limited).to.include({ status: 503, retryAfterSeconds: 33 });
      sim.faults.failNext(1, 500);
      const failed = await catalog.search({ query: 'five', offset: 0, limit: 5 }).catch((e) => e);
      expect(failed).to.be.instanceOf(RemoteUnavailableError);
      expect(failed.retryAfterSeconds).to.equal(9);
      expect(failed.details).to.include({ remote: 'modrinth', status: 500 });
    });

    it('turns a catalog that drops the connection or answers too late into RemoteUnavailableError', async () => {
      const hasty = new ModrinthClient({ baseUrl: sim.url, userAgent: 'zpack-test', timeoutMs: 300, freshSeconds: 60, maxFileBytes: 1 << 20, unavailableRetrySeconds: 9 }, cache, () => clock);
      try {
        sim.faults.dropConnections = 1;
        const dropped = await new ModrinthCatalog(() => hasty).project('fabric-api-dropped').catch((e) => e);
        expect(dropped).to.be.instanceOf(RemoteUnavailableError);
        sim.faults.latencyMs = 1500;
        const late = await new ModrinthCatalog(() => hasty).project('fabric-api-late').catch((e) => e);
        expect(late).to.be.instanceOf(RemoteUnavailableError);
        expect(late.details).to.include({ reason: 'no answer within 300 ms' });
      } finally {
        await hasty.close();
      }
    });

    it('checks a fetched file against its sha512', async () => {
      const v = sim.version('survival-essentials', '1.4.0');
      const file = { ...v.files[0] };
      const bytes = await catalog.fetchFile(file);
      expect(bytes.length).to.equal(file.size);
      sim.faults.corruptDownloads = 1;
      const err = await catalog.fetchFile(file).catch((e) => e);
      expect(err).to.be.instanceOf(ProviderError);
      expect(err.details).to.include({ reason: 'hash_mismatch' });
    });
  });

  describe('GET /api/mods/search', () => {
    it('answers projects with a cursor to the next page', async () => {
      const first = await user.http.get('/api/mods/search?loader=paper&limit=5');
      expect(first.status).to.equal(200);
      expect(first.body.projects).to.have.length(5);
      expect(first.body.projects[0]).to.include({ source: 'modrinth' });
      expect(first.body.totalHits).to.be.greaterThan(5);
      const second = await user.http.get(`/api/mods/search?loader=paper&limit=5&cursor=${first.body.nextCursor}`);
      expect(second.body.projects.map((p: any) => p.slug)).to.not.include.members(first.body.projects.map((p: any) => p.slug));
      const all = await user.http.get('/api/mods/search?loader=paper&limit=100');
      expect(all.body.nextCursor).to.equal(null);
    });

    it('pages as every list does: 50 by default, up to 200 asked, the catalog never asked for more than 100 at once', async () => {
      sim.requests.length = 0;
      const byDefault = await user.http.get('/api/mods/search?q=default-page');
      expect(byDefault.status).to.equal(200);
      const most = await user.http.get('/api/mods/search?q=largest-page&limit=200');
      expect(most.status).to.equal(200);
      const asked = sim.requests.filter((r) => r.path.endsWith('/search')).map((r) => `${r.query.query} ${r.query.limit}`);
      expect(asked).to.deep.equal(['default-page 50', 'largest-page 100']);
      expect((await user.http.get('/api/mods/search?limit=201')).status).to.equal(400);
    });

    it('filters by free text, game version and type', async () => {
      const res = await user.http.get('/api/mods/search?q=sodium&gameVersion=1.21.4&type=mod');
      expect(res.body.projects.map((p: any) => p.slug)).to.deep.equal(['sodium']);
      const packs = await user.http.get('/api/mods/search?type=modpack');
      expect(packs.body.projects.map((p: any) => p.slug).sort()).to.deep.equal(['escape-artist', 'survival-essentials']);
    });

    it('answers 503 with Retry-After while Modrinth rate-limits', async () => {
      sim.faults.rateLimitNext(1, 12);
      const res = await user.http.get('/api/mods/search?q=something-uncached');
      expect(res.status).to.equal(503);
      expect(res.headers.get('retry-after')).to.equal('12');
    });

    it('refuses unknown parameters, bad cursors and anonymous callers', async () => {
      expect((await user.http.get('/api/mods/search?sort=name')).status).to.equal(400);
      expect((await user.http.get('/api/mods/search?cursor=%%%')).status).to.equal(400);
      expect((await user.http.get('/api/mods/search?loader=../x')).status).to.equal(400);
      expect((await tk.http.get('/api/mods/search')).status).to.equal(401);
    });

    it('binds the ModCatalog port for other plugins', () => {
      expect(tk.kernel.resolve(ModCatalog).source).to.equal('modrinth');
    });
  });
});
