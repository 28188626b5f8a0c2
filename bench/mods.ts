import { ModrinthSimulator } from '../plugins/modrinth/testing/simulator';
import type { Benchmark, BenchmarkReport, TargetCheck } from './lib/benchmark';
import { verdict } from './lib/benchmark';
import { elapsedMs } from './lib/concurrency';
import { signUp } from './lib/fleet';
import { startZpack } from './lib/zpack-process';
import { startBareProxy } from './lib/bare-proxy';
import { fixed, ms, step, table } from './lib/print';
import { deleteRedisKeys } from './lib/redis-keys';
import { median } from './lib/stats';
import { processCpuMs } from './lib/process-cpu';

const SEARCHES = 200;
const ROUNDS = 5;
const MIN_COLD_RATIO = 0.8;
/** What a request to the real catalog costs at least (a round trip to api.modrinth.com is far more). */
const UPSTREAM_LATENCY_MS = 20;

interface Search { q?: string; loader?: string; gameVersion?: string; limit: number }

/** Different searches a portal sends: loaders × game versions × text × page sizes. */
function distinctSearches(): Search[] {
  const out: Search[] = [];
  for (const q of [undefined, 'a', 'e', 'o'])
    for (const loader of [undefined, 'fabric', 'forge', 'neoforge', 'paper', 'quilt', 'spigot'])
      for (const gameVersion of [undefined, '1.21.4', '1.21.1', '1.20.6'])
        for (const limit of [10, 20]) out.push({ q, loader, gameVersion, limit });
  return out.slice(0, SEARCHES);
}

/**
 * A busy portal (an extra line, no target): 200 searches over 40 different ones (many players open
 * the same first page of "fabric, 1.21.4"), interleaved so repeats arrive together.
 */
function portalSearches(): Search[] {
  const distinct = distinctSearches().filter((_, i) => i % 5 === 0).slice(0, SEARCHES / 5);
  return Array.from({ length: SEARCHES }, (_, i) => distinct[(i * 7) % distinct.length]);
}

const apiPath = (s: Search) => `/api/mods/search?${new URLSearchParams(Object.entries(s).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]))}`;

/** The same search as the plugin sends it to Modrinth (facets as ModrinthCatalog builds them). */
function directUrl(base: string, s: Search): string {
  const facets = [...(s.loader ? [[`categories:${s.loader}`]] : []), ...(s.gameVersion ? [[`versions:${s.gameVersion}`]] : [])];
  const query: Record<string, string> = { offset: '0', limit: String(s.limit), index: 'relevance' };
  if (s.q) query.query = s.q;
  if (facets.length) query.facets = JSON.stringify(facets);
  return `${base}/search?${new URLSearchParams(query)}`;
}

interface Burst {
  ms: number;
  failed: number;
  /** CPU the hop's process spent per call (µs), when its pid was given. */
  cpuUs: number;
}

/** Wall time of all the calls at once; the failures are counted. */
async function burst(calls: Array<() => Promise<number>>, hopPid?: number): Promise<Burst> {
  const cpuBefore = hopPid ? processCpuMs(hopPid) : undefined;
  const started = process.hrtime.bigint();
  const statuses = await Promise.all(calls.map((c) => c().catch(() => 0)));
  const took = elapsedMs(started);
  const cpuAfter = hopPid ? processCpuMs(hopPid) : undefined;
  const cpuUs = cpuBefore !== undefined && cpuAfter !== undefined ? ((cpuAfter - cpuBefore) * 1000) / calls.length : NaN;
  return { ms: took, failed: statuses.filter((s) => s !== 200).length, cpuUs };
}

async function run(): Promise<BenchmarkReport> {
  const sim = new ModrinthSimulator({ latencyMs: UPSTREAM_LATENCY_MS });
  await sim.start();
  const prefix = `bench-mods-${Date.now()}`;
  const zpack = await startZpack({ role: 'api', plugins: { modrinth: { simulate: false, baseUrl: sim.url, cache: { keyPrefix: prefix, freshSeconds: 300 } } } });
  // The ceiling of a hop: the same searches through a bare node:http proxy (its own process, no auth, no cache, the answer piped).
  const bare = await startBareProxy(sim.url, '/search?limit=1');
  try {
    const token = await signUp(zpack.url);
    const asked = () => sim.requests.filter((r) => r.path === '/v2/search').length;
    const viaApi = (list: Search[]) => burst(list.map((s) => async () => {
      const res = await fetch(`${zpack.url}${apiPath(s)}`, { headers: { authorization: `Bearer ${token}` } });
      await res.arrayBuffer();
      return res.status;
    }), zpack.pid);
    const direct = (list: Search[], base = sim.url, hopPid?: number) => burst(list.map((s) => async () => {
      const res = await fetch(directUrl(base, s), { headers: { 'user-agent': 'zpack-bench' } });
      await res.arrayBuffer();
      return res.status;
    }), hopPid);
    step(`${SEARCHES} concurrent searches, Modrinth simulator with ${UPSTREAM_LATENCY_MS} ms latency at ${sim.url}`);
    const distinct = distinctSearches();
    const portal = portalSearches();
    await direct(distinct);
    await direct(distinct, bare.url);
    await viaApi(distinct);
    const rounds: Array<{ direct: number; bare: number; cold: number; warm: number; hits: number; portalDirect: number; portalCold: number; failed: number; cpu: { bare: number; cold: number; warm: number } }> = [];
    for (let i = 1; i <= ROUNDS; i++) {
      // The headline: every search different and the cache empty, so each one pays the whole hop to the catalog.
      await deleteRedisKeys(prefix);
      const d = await direct(distinct);
      const b = await direct(distinct, bare.url, bare.pid);
      const cold = await viaApi(distinct);
      // The simulator keeps its last 1,000 requests only: its log is emptied so the warm pass is counted whole.
      sim.reset();
      const warm = await viaApi(distinct);
      // A warm search Modrinth was not asked for was a cache hit.
      const hits = 1 - asked() / distinct.length;
      await deleteRedisKeys(prefix);
      const pd = await direct(portal);
      const pc = await viaApi(portal);
      rounds.push({ direct: d.ms, bare: b.ms, cold: cold.ms, warm: warm.ms, hits, portalDirect: pd.ms, portalCold: pc.ms, failed: d.failed + b.failed + cold.failed + warm.failed + pd.failed + pc.failed,
        cpu: { bare: b.cpuUs, cold: cold.cpuUs, warm: warm.cpuUs } });
      step(`round ${i}: ${SEARCHES} different: direct ${ms(d.ms, 0)}, bare hop ${ms(b.ms, 0)}, API cold ${ms(cold.ms, 0)}, warm ${ms(warm.ms, 0)}; portal mix: direct ${ms(pd.ms, 0)}, API cold ${ms(pc.ms, 0)}`);
    }
    const coldRatio = median(rounds.map((r) => r.direct / r.cold));
    const bareRatio = median(rounds.map((r) => r.direct / r.bare));
    const cpu = { bare: median(rounds.map((r) => r.cpu.bare)), cold: median(rounds.map((r) => r.cpu.cold)), warm: median(rounds.map((r) => r.cpu.warm)) };
    const warmRatio = median(rounds.map((r) => r.direct / r.warm));
    const portalRatio = median(rounds.map((r) => r.portalDirect / r.portalCold));
    const hitRatio = median(rounds.map((r) => r.hits));
    const failed = rounds.reduce((n, r) => n + r.failed, 0);
    const check: TargetCheck = {
      name: `${SEARCHES} different searches via API (cold cache) / direct to Modrinth (throughput)`,
      ratio: coldRatio, minimum: MIN_COLD_RATIO, invalid: failed ? `${failed} searches did not answer 200` : '',
    };
    console.log();
    table(['round', 'direct', 'bare hop', 'API, cold cache', 'API, warm cache', 'bare hop ratio', 'cold ratio', 'warm ratio', 'warm hit ratio', 'portal mix: cold ratio'],
      rounds.map((r, i) => [String(i + 1), ms(r.direct, 0), ms(r.bare, 0), ms(r.cold, 0), ms(r.warm, 0), fixed(r.direct / r.bare, 2), fixed(r.direct / r.cold, 2), fixed(r.direct / r.warm, 2), fixed(r.hits, 2), fixed(r.portalDirect / r.portalCold, 2)]));
    console.log(`\n  Method: ${SEARCHES} different searches at once (loaders x game versions x text x page sizes), through GET /api/mods/search`);
    console.log('  of `zpack api` in its own process (auth, validation, the Redis cache, the Modrinth client, the mapping) and the same');
    console.log('  searches straight to the simulator (in this process, with the load generator), alternating. Cold: the cache\'s Redis');
    console.log('  keys are deleted first, so every search is a miss; warm: the same 200 again at once. Beside it, with no target, a');
    console.log(`  portal mix (40 different searches, each 5 times, repeats arriving together), cold. The simulator answers after`);
    console.log(`  ${UPSTREAM_LATENCY_MS} ms, as a remote catalog would at the least; the hit ratio counts warm searches Modrinth never saw.`);
    console.log('  The bare hop: the same 200 through a bare node:http proxy in its own process (no auth, no cache, the answer piped),');
    console.log('  the ceiling of any hop between the portal and the catalog on this machine.');
    console.log(`\n  ${SEARCHES} different, cold: ratio ${fixed(coldRatio, 2)} (target >= ${MIN_COLD_RATIO}): ${verdict(check)}; warm: ratio ${fixed(warmRatio, 2)}, cache hit ratio ${fixed(hitRatio, 2)}`);
    console.log(`  the ceiling, a bare hop, cold: ratio ${fixed(bareRatio, 2)}; the API reaches ${fixed(coldRatio / bareRatio, 2)} of it`);
    console.log(`  CPU per search of the hop's process: API cold ${fixed(cpu.cold, 0)} µs, warm ${fixed(cpu.warm, 0)} µs; bare hop ${fixed(cpu.bare, 0)} µs`);
    console.log(`  portal mix, cold: ratio ${fixed(portalRatio, 2)} (no target)`);
    return {
      targets: [check],
      figures: [
        { label: 'bare node:http hop / direct (a hop\'s ceiling), cold', value: fixed(bareRatio, 2) },
        { label: 'API / direct, warm cache', value: fixed(warmRatio, 2) },
        { label: 'kernel CPU per search, cold / warm (bare hop)', value: `${fixed(cpu.cold, 0)} / ${fixed(cpu.warm, 0)} µs (${fixed(cpu.bare, 0)} µs)` },
        { label: 'cache hit ratio, warm', value: fixed(hitRatio, 2) },
        { label: 'API / direct, portal mix (40 searches x 5), cold', value: fixed(portalRatio, 2) },
      ],
    };
  } finally {
    await bare.stop();
    await zpack.stop();
    await sim.stop();
    await deleteRedisKeys(prefix);
  }
}

export const mods: Benchmark = {
  name: 'mods',
  summary: `${SEARCHES} different concurrent GET /api/mods/search vs the same searches direct to the Modrinth simulator (cold cache >= ${MIN_COLD_RATIO}; warm cache hit ratio and a portal mix printed)`,
  run,
};
