import { expect } from 'chai';
import { PrivatePostgres } from '../harness/postgres-server';
import type { TestKernel, TestResponse, TestUser } from '../harness';
import { create, settle, startFleet, startFleetKernel, type Fleet } from './fixture';

/** A request that must be answered within `ms`, never left hanging on a database that is gone. */
async function promptly(request: Promise<TestResponse>, ms = 8000): Promise<TestResponse> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms); });
  try {
    return await Promise.race([request, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Provisioning jobs put back because Postgres was unreachable, as /metrics counts them (it needs no database). */
async function deferredJobs(tk: TestKernel): Promise<number> {
  const metrics = (await tk.http.get('/metrics')).text;
  return [...metrics.matchAll(/^zpack_jobs_processed_total\{queue="provisioning",name="[^"]+",outcome="deferred"\} (\d+)$/gm)]
    .reduce((sum, m) => sum + Number(m[1]), 0);
}

function expectUnavailable(res: TestResponse): void {
  expect(res.status, res.text).to.equal(503);
  expect(res.body.error.code).to.equal('database_unavailable');
  expect(Number(res.headers.get('retry-after'))).to.be.greaterThan(0);
}

describe('Postgres briefly down', () => {
  let fleet: Fleet;
  let pg: PrivatePostgres;
  let tk: TestKernel;
  let user: TestUser;
  let opId: string;
  before(async function () {
    this.timeout(60_000);
    fleet = await startFleet();
    pg = await new PrivatePostgres().start();
    tk = await startFleetKernel(fleet, { config: { database: { url: pg.url } } });
    user = await tk.user();
  });
  after(async () => {
    if (fleet) fleet.agents.faults.neverReady = false;
    await pg?.start();
    await tk?.stop();
    await pg?.destroy();
    await fleet?.stop();
  });

  it('puts a create accepted before it back for later instead of failing it', async () => {
    fleet.agents.faults.neverReady = true;
    const accepted = await create(user, 'before-outage');
    expect(accepted.status, accepted.text).to.equal(202);
    opId = accepted.body.operation.id;
    await until('the create waits for readiness', async () => (await user.http.get(`/api/operations/${opId}`)).body.phase, (p) => p === 'wait_ready');
    await pg.stop();
    await until('a provisioning job finds Postgres gone and is put back for later', () => deferredJobs(tk), (n) => n > 0);
  });

  it('answers 503 database_unavailable with Retry-After, promptly, while it is down', async () => {
    expectUnavailable(await promptly(create(user, 'during-outage')));
    expectUnavailable(await promptly(user.http.get(`/api/operations/${opId}`)));
    expectUnavailable(await promptly(user.http.get('/api/servers')));
  });

  it('names postgres as down in /readyz', async () => {
    const res = await promptly(tk.http.get('/readyz'));
    expect(res.status).to.equal(503);
    expect(res.body.error.details.checks).to.deep.equal({ postgres: 'down', redis: 'ok' });
    expect(Number(res.headers.get('retry-after'))).to.be.greaterThan(0);
  });

  it('finishes the create once it is back, with one operation, one instance and one container', async function () {
    this.timeout(60_000);
    fleet.agents.faults.neverReady = false;
    await pg.start();
    const op = await settle(user, opId, 45_000);
    expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
    expect((await tk.http.get('/readyz')).status).to.equal(200);

    const ops = await tk.kernel.ds.query(`SELECT id FROM provisioning_operation WHERE account_id = $1`, [user.id]);
    expect(ops.map((o: { id: string }) => o.id), 'the create refused during the outage wrote nothing').to.deep.equal([opId]);
    const instances = await tk.kernel.ds.query(`SELECT id, state FROM instance WHERE owner_id = $1`, [user.id]);
    expect(instances).to.deep.equal([{ id: op.instanceId, state: 'running' }]);
    expect(fleet.proxmox.containers().filter((c) => c.tags.includes(`op-${opId}`))).to.have.length(1);
    expect(fleet.proxmox.containers()).to.have.length(1);
  });

  it('accepts the refused create again with the same Idempotency-Key', async function () {
    this.timeout(30_000);
    const retried = await create(user, 'during-outage');
    expect(retried.status, retried.text).to.equal(202);
    expect((await settle(user, retried.body.operation.id)).state).to.equal('succeeded');
    expect(fleet.proxmox.containers()).to.have.length(2);
  });
});
