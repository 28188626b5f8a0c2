import { Client } from 'pg';
import { gameBody } from '../../test/provisioning/fixture';
import { forEachConcurrently, sleep } from './concurrency';

/** One POST /api/instances, timed from when it was due (open loop) or sent (closed loop). */
export interface CreateAnswer {
  ms: number;
  /** How late the bench itself sent it (its own event loop was busy): part of `ms` that is not the kernel's. */
  lagMs: number;
  opId?: string;
  failure?: string;
}

export interface CreateLoad {
  answers: CreateAnswer[];
  /** First request sent → last answer received. */
  wallMs: number;
}

async function postCreate(baseUrl: string, token: string, key: string, dueAt: number): Promise<CreateAnswer> {
  const lagMs = performance.now() - dueAt;
  const answer = (rest: Omit<CreateAnswer, 'ms' | 'lagMs'>): CreateAnswer => ({ ms: performance.now() - dueAt, lagMs, ...rest });
  try {
    const res = await fetch(`${baseUrl}/api/instances`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(gameBody(key)),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (res.status === 202) return answer({ opId: JSON.parse(text).operation.id });
    return answer({ failure: `${res.status} ${text.slice(0, 200)}` });
  } catch (err) {
    return answer({ failure: (err as Error).message });
  }
}

/**
 * Open loop: create i is due at start + i / rate, sent then whatever the earlier ones are doing,
 * and its latency counts from when it was due (a slow answer cannot hold the next request back).
 */
export async function openLoopCreates(baseUrl: string, tokens: string[], rate: number, count: number, label: string): Promise<CreateLoad> {
  const started = performance.now();
  const pending: Array<Promise<CreateAnswer>> = [];
  for (let i = 0; i < count; i++) {
    const dueAt = started + (i * 1000) / rate;
    const wait = dueAt - performance.now();
    if (wait >= 1) await sleep(wait);
    pending.push(postCreate(baseUrl, tokens[i % tokens.length], `${label}-${i}`, dueAt));
  }
  const answers = await Promise.all(pending);
  return { answers, wallMs: performance.now() - started };
}

/** Closed loop: `clients` clients, each sending its next create as soon as its previous one is answered. */
export async function closedLoopCreates(baseUrl: string, tokens: string[], clients: number, count: number, label: string): Promise<CreateLoad> {
  const answers: CreateAnswer[] = [];
  const started = performance.now();
  await forEachConcurrently(count, clients, async (i, client) => {
    answers.push(await postCreate(baseUrl, tokens[client % tokens.length], `${label}-${i}`, performance.now()));
  });
  return { answers, wallMs: performance.now() - started };
}

export interface Settled {
  failed: number;
  /** Per succeeded operation, created_at → finished (Postgres clock). */
  latencyMs: number[];
}

/** Waits until every operation is in a final state, polling Postgres from the bench so the wait puts no load on the kernel's processes. */
export async function settle(pg: Client, schema: string, ids: string[], timeoutMs: number, pollMs = 20): Promise<Settled> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [{ open }] = (await pg.query(
      `SELECT count(*)::int AS open FROM "${schema}".provisioning_operation WHERE id = ANY($1::uuid[]) AND state IN ('queued', 'running')`, [ids],
    )).rows;
    if (open === 0) break;
    if (Date.now() > deadline) throw new Error(`${open} of ${ids.length} operations still open after ${timeoutMs} ms`);
    await sleep(pollMs);
  }
  const rows = (await pg.query(
    `SELECT state, extract(epoch FROM updated_at - created_at) * 1000 AS ms FROM "${schema}".provisioning_operation WHERE id = ANY($1::uuid[])`, [ids],
  )).rows as Array<{ state: string; ms: string }>;
  return { failed: rows.filter((r) => r.state !== 'succeeded').length, latencyMs: rows.filter((r) => r.state === 'succeeded').map((r) => Number(r.ms)) };
}
