import type { ProxyBackend } from '../kernel/api';
import minecraftPlugin from '../plugins/minecraft';
import velocityPlugin from '../plugins/velocity';
import { VelocityConnection } from '../plugins/velocity/connection';
import { startTestKernel, type TestKernel, type TestUser } from '../test/harness';
import type { Benchmark, BenchmarkReport, TargetCheck } from './lib/benchmark';
import { verdict } from './lib/benchmark';
import { fixed, ms, step, table } from './lib/print';
import { median } from './lib/stats';

const SERVERS = 2_000;
const ROUNDS = 5;
/** Resync may take at most this many times the sequential raw calls. */
const MAX_TIME_RATIO = 1.5;
const FIRST_VMID = 100_000;

interface Round { rawMs: number; resyncMs: number; problem: string }

/** 2,000 running game servers straight into the kernel's schema, each marked ready; returns their backends. */
async function readyServers(tk: TestKernel, owner: TestUser): Promise<ProxyBackend[]> {
  const rows: Array<{ id: string; vmid: number; address: string; port: number }> = await tk.kernel.ds.query(
    `INSERT INTO instance (owner_id, kind, type, name, state, vmid, node, address, host, ports)
     SELECT $1, 'game', 'minecraft', 'bench ' || n, 'running', $3 + n, 'pve1',
            'http://10.' || (n / 250) || '.' || (n % 250 + 1) || '.2:7070', '10.' || (n / 250) || '.' || (n % 250 + 1) || '.2',
            jsonb_build_array(jsonb_build_object('name', 'game', 'port', 30000 + n, 'protocol', 'tcp'))
     FROM generate_series(0, $2 - 1) AS n
     RETURNING id, vmid, address, (ports->0->>'port')::int AS port`,
    [owner.id, SERVERS, FIRST_VMID],
  );
  const views = await tk.kernel.directory.list({ ownerId: owner.id });
  // Each transition runs the onInstanceReady taps (velocity registers the server): 25 at a time.
  for (let i = 0; i < views.length; i += 25) {
    await Promise.all(views.slice(i, i + 25).map((view) => tk.kernel.readiness.becameReady(view)));
  }
  return rows.map((r) => ({ name: `zp-${r.vmid}`, address: new URL(r.address).hostname, port: r.port }));
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/**
 * One sequential pass of raw register calls, then one resync, each against an emptied simulator
 * (a restarted proxy). `forgetRecords` first drops every server's proxy record, so the resync
 * rewrites all of them instead of only the ones that changed.
 */
async function round(tk: TestKernel, admin: TestUser, backends: ProxyBackend[], forgetRecords = false): Promise<Round> {
  const connection = tk.kernel.resolve(VelocityConnection);
  const bridge = connection.simulator!;
  bridge.reset();
  const rawMs = await timed(async () => {
    for (const backend of backends) await connection.client.register(backend);
  });
  const rawCount = bridge.backends().length;
  bridge.reset();
  if (forgetRecords) await tk.kernel.ds.query(`UPDATE instance SET payload = payload - 'velocity'`);
  let answer: { registered?: number; failed?: unknown[] } | undefined;
  const resyncMs = await timed(async () => {
    answer = (await admin.http.post('/api/velocity/resync')).body;
  });
  const problems = [
    rawCount !== SERVERS && `raw registered ${rawCount}`,
    (answer?.registered !== SERVERS || answer?.failed?.length) && `resync answered ${JSON.stringify(answer).slice(0, 200)}`,
    bridge.backends().length !== SERVERS && `simulator holds ${bridge.backends().length} after resync`,
  ].filter(Boolean);
  return { rawMs, resyncMs, problem: problems.join('; ') };
}

const timeRatio = (rounds: Round[]) => median(rounds.map((r) => r.resyncMs / r.rawMs));

async function run(): Promise<BenchmarkReport> {
  // The minecraft type says its servers are proxied; the api role needs no hosting for a resync.
  const tk = await startTestKernel({
    plugins: [velocityPlugin, minecraftPlugin],
    config: {
      role: 'api',
      plugins: {
        minecraft: { enabled: true },
        velocity: { enabled: true, options: { simulate: true, simulator: { port: 0 }, proxyToken: 'bench-proxy-token' } },
      },
    },
  });
  try {
    const admin = await tk.user({ role: 'admin' });
    const backends = await readyServers(tk, await tk.user());
    step(`${SERVERS} ready game servers in schema ${tk.schema}; velocity simulator at ${tk.kernel.resolve(VelocityConnection).simulator!.url}`);
    // The warm-up's resync leaves every record saying 'registered', as a proxy restart finds them.
    await round(tk, admin, backends, true);
    step('warm-up round done');
    const rounds: Round[] = [];
    for (let i = 1; i <= ROUNDS; i++) {
      rounds.push(await round(tk, admin, backends));
      step(`round ${i}: ${ms(rounds[i - 1].rawMs, 0)} raw, ${ms(rounds[i - 1].resyncMs, 0)} resync`);
    }
    const rewrites: Round[] = [];
    for (let i = 1; i <= ROUNDS; i++) {
      rewrites.push(await round(tk, admin, backends, true));
      step(`round ${i}, every record rewritten: ${ms(rewrites[i - 1].rawMs, 0)} raw, ${ms(rewrites[i - 1].resyncMs, 0)} resync`);
    }
    // Each round's two passes run back to back, so their ratio is steadier on a shared machine than a ratio of medians.
    const ratio = timeRatio(rounds);
    const check: TargetCheck = {
      name: `${SERVERS} sequential raw calls / resync (time)`,
      ratio: 1 / ratio,
      minimum: 1 / MAX_TIME_RATIO,
      invalid: [...rounds, ...rewrites].map((r) => r.problem).filter(Boolean).join('; '),
    };
    console.log();
    table(
      ['round', 'records', `${SERVERS} raw sequential`, 'POST resync', 'resync / raw'],
      [...rounds.map((r, i) => [r, i, 'kept'] as const), ...rewrites.map((r, i) => [r, i, 'rewritten'] as const)].map(([r, i, records]) =>
        [String(i + 1), records, ms(r.rawMs, 0), ms(r.resyncMs, 0), `${fixed(r.resyncMs / r.rawMs, 2)}x`]),
    );
    const resync = median(rounds.map((r) => r.resyncMs));
    const raw = median(rounds.map((r) => r.rawMs));
    console.log(`\n  after a proxy restart: resync ${ms(resync, 0)}, raw ${ms(raw, 0)}; resync / raw ${fixed(ratio, 2)}x (target <= ${fixed(MAX_TIME_RATIO, 1)}x): ${verdict(check)}`);
    console.log(`  with every record rewritten (${SERVERS} more UPDATEs): resync / raw ${fixed(timeRatio(rewrites), 2)}x (no target)`);
    return {
      targets: [check],
      figures: [
        { label: `resync of ${SERVERS} (median)`, value: ms(resync, 0) },
        { label: `${SERVERS} raw sequential (median)`, value: ms(raw, 0) },
        { label: 'resync / raw time (median of rounds)', value: `${fixed(ratio, 2)}x` },
        { label: 'same, every record rewritten', value: `${fixed(timeRatio(rewrites), 2)}x` },
      ],
    };
  } finally {
    await tk.stop();
  }
}

export const resync: Benchmark = {
  name: 'resync',
  summary: `POST /api/velocity/resync of ${SERVERS} ready servers against the Velocity simulator vs ${SERVERS} sequential raw register calls (target <= ${MAX_TIME_RATIO}x the time)`,
  run,
};
