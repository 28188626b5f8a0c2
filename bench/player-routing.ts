import { BridgeClient } from '../plugins/velocity/client/bridge-client';
import { motdOf, queryStatus } from '../plugins/velocity/testing/minecraft-protocol';
import { BridgeSimulator } from '../plugins/velocity/testing/simulator';
import { StatusServer } from '../plugins/velocity/testing/status-server';
import type { Benchmark, BenchmarkReport, TargetCheck } from './lib/benchmark';
import { verdict } from './lib/benchmark';
import { elapsedMs, forEachConcurrently } from './lib/concurrency';
import { fixed, ms, step, table } from './lib/print';
import { percentile } from './lib/stats';

/** Backends the proxy knows, each with its own forced host; pings pick hosts across all of them. */
const BACKENDS = 2_000;
/** Game servers behind them (backend i is served by server i % GAME_SERVERS). */
const GAME_SERVERS = 4;
const PINGS = 2_000;
const CLIENTS = 32;
const ROUNDS = 3;
/**
 * Through the proxy a ping takes four sockets in this one process instead of two (player, proxy
 * in and out, game server) and every byte is relayed: about half the direct rate at best. The
 * target leaves room for a loaded machine; a proxy that did more per connection (a scan of the
 * backends, a copy of the stream) falls below it.
 */
const MIN_RATE_RATIO = 0.3;
const ZONE = 'play.bench.test';
const TOKEN = 'bench-bridge-token';

interface Pass {
  label: string;
  durationMs: number;
  latencyMs: number[];
  wrong: string[];
}

const hostOf = (i: number) => `mc-${10_000 + i}.${ZONE}`;

/** PINGS full status exchanges (connect, handshake, status, ping/pong), CLIENTS at a time. */
async function pass(label: string, target: (i: number) => { host: string; port: number; serverAddress: string; motd: string }): Promise<Pass> {
  const latencyMs: number[] = [];
  const wrong: string[] = [];
  const started = process.hrtime.bigint();
  await forEachConcurrently(PINGS, CLIENTS, async (i) => {
    const t = target(i);
    const sent = process.hrtime.bigint();
    const outcome = await queryStatus({ host: t.host, port: t.port, serverAddress: t.serverAddress, timeoutMs: 10_000 });
    latencyMs.push(elapsedMs(sent));
    const got = outcome.ok ? motdOf(outcome.status) : `${outcome.reason}: ${outcome.detail}`;
    if (got !== t.motd) wrong.push(`${t.serverAddress} answered ${got}, not ${t.motd}`);
  });
  return { label, durationMs: elapsedMs(started), latencyMs, wrong };
}

async function run(): Promise<BenchmarkReport> {
  const servers = await Promise.all(Array.from({ length: GAME_SERVERS }, (_, i) => new StatusServer(`Server ${i}`).start()));
  const proxy = new BridgeSimulator({ port: 0, token: TOKEN });
  await proxy.start();
  const client = new BridgeClient({ baseUrl: proxy.url, token: TOKEN, timeoutMs: 5000, retries: 2, maxSockets: 32 });
  try {
    await forEachConcurrently(BACKENDS, 32, async (i) => {
      await client.register({ name: `zp-${10_000 + i}`, address: '127.0.0.1', port: servers[i % GAME_SERVERS].port, forcedHosts: [hostOf(i)] });
    });
    step(`${BACKENDS} backends with a forced host each, served by ${GAME_SERVERS} game servers; proxy players at ${proxy.playerAddress.port}`);
    // Backend of ping i: spread over every backend, so each lookup is a different host.
    const backendOf = (i: number) => (i * 7919) % BACKENDS;
    const direct = (i: number) => {
      const b = backendOf(i);
      return { host: '127.0.0.1', port: servers[b % GAME_SERVERS].port, serverAddress: hostOf(b), motd: `Server ${b % GAME_SERVERS}` };
    };
    const proxied = (i: number) => ({ ...direct(i), ...proxy.playerAddress });
    await pass('warm-up', proxied);
    const rounds: Array<{ direct: Pass; proxied: Pass }> = [];
    for (let r = 1; r <= ROUNDS; r++) {
      const d = await pass('direct', direct);
      const p = await pass('proxied', proxied);
      rounds.push({ direct: d, proxied: p });
      step(`round ${r}: direct ${ms(d.durationMs, 0)}, through the proxy ${ms(p.durationMs, 0)}`);
    }
    const rate = (p: Pass) => (PINGS / p.durationMs) * 1000;
    // Each round's passes run back to back: their ratio is steadier on a shared machine than a ratio of totals.
    const ratios = rounds.map((r) => rate(r.proxied) / rate(r.direct)).sort((a, b) => a - b);
    const ratio = ratios[Math.floor(ratios.length / 2)];
    const all = (pick: 'direct' | 'proxied') => rounds.flatMap((r) => r[pick].latencyMs);
    const wrong = rounds.flatMap((r) => [...r.direct.wrong, ...r.proxied.wrong]);
    const check: TargetCheck = {
      name: `status pings through the proxy / direct (rate, ${BACKENDS} forced hosts)`,
      ratio,
      minimum: MIN_RATE_RATIO,
      invalid: wrong.length ? `${wrong.length} pings reached the wrong server or none (${wrong[0]})` : '',
    };
    console.log();
    table(['path', 'pings/s (median round)', 'p50', 'p99'], (['direct', 'proxied'] as const).map((pick) => [
      pick === 'direct' ? 'direct to the game port' : 'through the proxy simulator',
      fixed(rounds.map((r) => rate(r[pick])).sort((a, b) => a - b)[Math.floor(ROUNDS / 2)], 0),
      ms(percentile(all(pick), 50), 2), ms(percentile(all(pick), 99), 2),
    ]));
    console.log(`\n  proxied / direct rate ${fixed(ratio, 2)} (target >= ${MIN_RATE_RATIO}); ${wrong.length} wrong answers: ${verdict(check)}`);
    return {
      targets: [check],
      figures: [
        { label: 'status ping through the proxy, p50', value: ms(percentile(all('proxied'), 50), 2) },
        { label: 'status ping direct, p50', value: ms(percentile(all('direct'), 50), 2) },
        { label: 'proxied / direct rate (median round)', value: fixed(ratio, 2) },
      ],
    };
  } finally {
    client.close();
    await proxy.stop();
    await Promise.all(servers.map((s) => s.stop()));
  }
}

export const playerRouting: Benchmark = {
  name: 'player-routing',
  summary: `${PINGS} Minecraft status pings (${CLIENTS} at a time) through the Velocity simulator's player port, routed among ${BACKENDS} forced hosts, vs the same pings straight to the game ports (target >= ${MIN_RATE_RATIO}x the rate)`,
  run,
};
