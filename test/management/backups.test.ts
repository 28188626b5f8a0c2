import { expect } from 'chai';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { BillingGate, definePlugin, type EnforcementState, type PlanEntitlements } from '../../kernel/api';
import { startTestKernel, type TestKernel, type TestUser } from '../harness';
import { gameServer, until, type GameServer } from '../files/api-fixture';
import { fleetConfig, fleetPlugins, startFleet, type Fleet } from '../provisioning/fixture';

/** The plan of every account: two backups kept per server. */
const plan: PlanEntitlements = { plan: 'vanilla', maxInstances: 5, memoryMbMax: 4096, flavors: [], mods: false, backupsMax: 2 };
const planned = definePlugin({
  name: 'test-plans', version: '1.0.0', kernelApi: '2', config: z.object({}),
  register(ctx) {
    ctx.provide(BillingGate, () => new (class extends BillingGate {
      async stateOf(): Promise<EnforcementState> {
        return 'active';
      }
      async entitlementsOf(): Promise<PlanEntitlements | null> {
        return plan;
      }
    })());
  },
});

describe('Backups: lock, rotation within the plan, Idempotency-Key, download', function () {
  this.timeout(60_000);
  let fleet: Fleet;
  let tk: TestKernel;
  let owner: TestUser;
  let server: GameServer;
  const base = () => `/api/servers/${server.id}/backups`;

  before(async () => {
    fleet = await startFleet();
    tk = await startTestKernel({ plugins: [...fleetPlugins, planned], config: fleetConfig(fleet, { plugins: { 'test-plans': { enabled: true } } }) });
    owner = await tk.user();
    server = await gameServer(owner, 'backup-rotation');
  });
  after(async () => {
    await tk?.stop();
    await fleet?.stop();
  });

  const ready = async (name: string, headers: Record<string, string> = {}) => {
    const res = await owner.http.post(base(), { name }, { headers });
    expect(res.status, res.text).to.equal(202);
    await until(`backup ${name}`, async () => (await owner.http.get(base())).body.backups.find((b: any) => b.id === res.body.backup.id)?.state, (s) => s === 'ready');
    return res.body.backup;
  };
  const names = async () => ((await owner.http.get(base())).body.backups as any[]).map((b) => b.name).sort();

  it('a locked backup survives rotation: at the plan’s limit the oldest unlocked one goes', async () => {
    const oldest = await ready('one');
    await ready('two');
    const locked = await owner.http.post(`${base()}/${oldest.id}/lock`, { locked: true });
    expect(locked.body.backup).to.include({ id: oldest.id, locked: true });
    await ready('three');
    expect(await names()).to.deep.equal(['one', 'three']);
    const deleting = await owner.http.delete(`${base()}/${oldest.id}`);
    expect(deleting.status).to.equal(423);
    expect(deleting.body.error.code).to.equal('locked');
    await ready('four');
    expect(await names()).to.deep.equal(['four', 'one']);
    const activity = (await owner.http.get(`/api/servers/${server.id}/activity?event=backup.*`)).body.activity.map((e: any) => e.event);
    expect(activity).to.include.members(['backup.create', 'backup.lock']);
  });

  it('refuses a new backup (409) when every kept backup is locked, until one is unlocked', async () => {
    const kept = (await owner.http.get(base())).body.backups as any[];
    for (const b of kept) await owner.http.post(`${base()}/${b.id}/lock`, { locked: true });
    const refused = await owner.http.post(base(), { name: 'five' });
    expect(refused.status).to.equal(409);
    expect(refused.body.error.details).to.deep.include({ backupsMax: 2 });
    for (const b of kept) await owner.http.post(`${base()}/${b.id}/lock`, { locked: false });
  });

  it('a retried create with the same Idempotency-Key answers the first backup and makes no second; another body is 422', async () => {
    const headers = { 'idempotency-key': 'nightly-2026-11-27' };
    const first = await ready('keyed', headers);
    const again = await owner.http.post(base(), { name: 'keyed' }, { headers });
    expect(again.status).to.equal(202);
    expect(again.body.backup.id).to.equal(first.id);
    expect((await names()).filter((n) => n === 'keyed')).to.have.length(1);
    const other = await owner.http.post(base(), { name: 'other' }, { headers });
    expect(other.status).to.equal(422);
    expect(other.body.error.code).to.equal('idempotency_key_reused');
  });

  it('downloads a backup as a stream: a gzip of the server folder', async () => {
    const backup = (await owner.http.get(base())).body.backups[0];
    const { status, headers, body } = await new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      const req = request(`${tk.url}${base()}/${backup.id}/download`, { headers: { authorization: `Bearer ${owner.accessToken}` } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).to.equal(200);
    expect(headers['content-type']).to.equal('application/gzip');
    expect(Number(headers['content-length'])).to.equal(backup.sizeBytes);
    expect(gunzipSync(body).toString('latin1')).to.include('server.properties');
    expect((await owner.http.get(`${base()}/no-such-backup/download`)).status).to.equal(404);
  });
});
