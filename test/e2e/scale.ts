import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { DATABASE_URL, REDIS_URL, startZpack, type ZpackProcess } from '../../bench/lib/zpack-process';
import { stopAllServers } from '../../bench/lib/server-process';

/**
 * The scale-out proof: two api processes, two provision workers, two controllers and a billing
 * worker against one Postgres, one Redis and one simulated world (`zpack simulators`). 300
 * concurrent creates over both APIs with 100 Idempotency-Keys must make exactly 100 servers; a
 * provision worker killed with SIGKILL mid-run must not lose an operation; the leading controller
 * killed must be replaced within the lease. Exits non-zero when any of it does not hold.
 */
const USERS = 10;
const KEYS_PER_USER = 10;
const COPIES = 3;

const plugins = {
  proxmox: { simulate: true, simulator: { taskMs: 20 } },
  agent: { simulate: true, simulator: { bootMs: 200 } },
  cloudflare: { simulate: true },
  velocity: { simulate: true },
  minecraft: {},
};
const shared = {
  quota: { defaultMaxInstances: 50 },
  provisioning: { readyPollMs: 100 },
  // A world of its own, in memory: the checkout's ./data/sim holds the embedded default's containers.
  simulators: { mode: 'remote', stateDir: '' },
  loops: { leaseMs: 5000 },
  // Eight processes share Postgres' 100 connections (and the machine's other users).
  // A burst waits for a connection rather than failing fast.
  database: { pool: { max: 8, connectionTimeoutMs: 30_000 } },
};

/** As a portal does: a 503 or 429 with Retry-After is retried after the wait (a few times). */
async function api(p: ZpackProcess, path: string, init: { method?: string; body?: unknown; token?: string; key?: string } = {}) {
  for (let attempt = 1; ; attempt++) {
    const res = await call(p, path, init);
    if ((res.status !== 503 && res.status !== 429) || attempt === 5) return res;
    await new Promise((r) => setTimeout(r, 1000 * Number(res.retryAfter ?? 1)));
  }
}

async function call(p: ZpackProcess, path: string, init: { method?: string; body?: unknown; token?: string; key?: string }) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.key) headers['idempotency-key'] = init.key;
  const res = await fetch(`${p.url}${path}`, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json().catch(() => null) as any };
}

function check(ok: boolean, what: string): void {
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) process.exitCode = 1;
}

export async function scale(): Promise<void> {
  const t0 = performance.now();
  const simulators = await startZpack({ role: 'simulators', plugins, config: shared });
  const join = (role: 'api' | 'provision-worker' | 'controller' | 'billing-worker') => startZpack({ role, plugins, config: shared, joining: simulators });
  const [apiA, apiB] = [await join('api'), await join('api')];
  const workers = [await join('provision-worker'), await join('provision-worker')];
  const controllers = [await join('controller'), await join('controller')];
  const billing = await join('billing-worker');
  console.log(`  fleet up in ${Math.round(performance.now() - t0)} ms: 2 api, 2 provision workers, 2 controllers, 1 billing worker, 1 simulators process`);
  const pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
  await pg.query(`SET search_path TO "${simulators.schema}"`);
  const redis = new Redis(REDIS_URL);
  try {
    const tokens: string[] = [];
    for (let u = 0; u < USERS; u++) {
      const credentials = { email: `scale${u}@zpack.test`, password: 'a-long-scale-password' };
      await api(apiA, '/api/auth/register', { method: 'POST', body: credentials });
      tokens.push((await api(apiB, '/api/auth/login', { method: 'POST', body: credentials })).body.accessToken);
    }
    const requests: Array<() => Promise<{ status: number; body: any }>> = [];
    for (let u = 0; u < USERS; u++) {
      for (let k = 0; k < KEYS_PER_USER; k++) {
        for (let c = 0; c < COPIES; c++) {
          const body = { kind: 'game', type: 'minecraft', name: `Scale ${u}-${k}`, options: { version: '1.21.4', flavor: 'paper', memoryMb: 1024 } };
          requests.push(() => api(c % 2 ? apiB : apiA, '/api/instances', { method: 'POST', token: tokens[u], key: `scale-${u}-${k}`, body }));
        }
      }
    }
    const accepted = performance.now();
    const answers = await Promise.all(requests.map((r) => r()));
    const acceptMs = performance.now() - accepted;
    for (const a of answers.filter((x) => x.status !== 202).slice(0, 5)) console.log(`  answer ${a.status}: ${JSON.stringify(a.body)}`);
    const operations = new Set(answers.filter((a) => a.status === 202).map((a) => a.body.operation.id));
    check(answers.every((a) => a.status === 202), `${answers.length} concurrent creates over both APIs all answered 202 (${Math.round(acceptMs)} ms)`);
    check(operations.size === USERS * KEYS_PER_USER, `${USERS * KEYS_PER_USER} Idempotency-Keys → ${operations.size} operations`);

    // Kill one provision worker while operations are still running.
    await until(async () => Number((await pg.query(`SELECT count(*) FROM provisioning_operation WHERE state = 'succeeded'`)).rows[0].count) >= 10, 240_000);
    process.kill(workers[0].pid, 'SIGKILL');
    const killedAt = performance.now();
    console.log('  provision worker 1 killed with SIGKILL mid-run');
    await until(async () => Number((await pg.query(`SELECT count(*) FROM provisioning_operation WHERE state IN ('queued','running')`)).rows[0].count) === 0, 240_000);
    const states = (await pg.query(`SELECT state, count(*)::int AS n FROM provisioning_operation GROUP BY state`)).rows;
    for (const f of (await pg.query(`SELECT error FROM provisioning_operation WHERE state = 'failed' LIMIT 3`)).rows) console.log(`  failed: ${JSON.stringify(f.error)}`);
    const servers = Number((await pg.query(`SELECT count(*) FROM instance WHERE deleted_at IS NULL`)).rows[0].count);
    check(states.length === 1 && states[0].state === 'succeeded', `every operation finished succeeded (${JSON.stringify(states)}), ${Math.round((performance.now() - killedAt) / 1000)} s after the kill`);
    check(servers === USERS * KEYS_PER_USER, `exactly ${USERS * KEYS_PER_USER} servers exist (${servers})`);
    console.log(`  all ${operations.size} creates done ${Math.round((performance.now() - accepted) / 1000)} s after they were sent`);

    // The leading controller dies; another must lead within the lease.
    const leases = await leaseKeys(redis, simulators.prefix);
    if (!leases.length) {
      check(false, 'a leader loop is registered for the controllers to elect a leader of');
    } else {
      const leaderOf = async () => (await redis.get(leases[0]))?.split(':')[1];
      const leaderPid = await until(leaderOf, 30_000);
      const leader = controllers.find((c) => String(c.pid) === leaderPid);
      check(!!leader, `one controller leads ${leases[0].split(':loop:')[1]} (pid ${leaderPid})`);
      if (leader) {
        process.kill(leader.pid, 'SIGKILL');
        const killed = performance.now();
        const next = await until(async () => {
          const pid = await leaderOf();
          return pid && pid !== leaderPid ? pid : undefined;
        }, 60_000);
        check(controllers.some((c) => String(c.pid) === next), `the other controller (pid ${next}) leads ${Math.round(performance.now() - killed)} ms after the leader was killed (lease ${shared.loops.leaseMs} ms)`);
      }
    }
  } finally {
    await pg.end();
    redis.disconnect();
    for (const p of [apiA, apiB, ...workers, ...controllers, billing]) await p.stop().catch(() => undefined);
    await simulators.stop();
    await stopAllServers();
  }
}

async function leaseKeys(redis: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:loop:*:lease`, 'COUNT', 500);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found.sort();
}

async function until<T>(read: () => Promise<T>, timeoutMs: number): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value) return value as NonNullable<T>;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
