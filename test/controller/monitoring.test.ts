import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../kernel/core/logger';
import { projectRoot, type TestKernel, type TestUser } from '../harness';
import { create, settle, startFleet, startFleetKernel, type Fleet } from '../provisioning/fixture';

const TOKEN = 'prometheus-scrape-token-0123456789';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('Monitoring: protected metrics, lifecycle metrics, service discovery and operation log context', () => {
  let fleet: Fleet;
  let tk: TestKernel;
  let user: TestUser;
  let admin: TestUser;
  let listenerPort: number;
  const lines: Array<Record<string, any>> = [];
  let created: { operationId: string; instanceId: string; vmid: number };

  before(async function () {
    this.timeout(60_000);
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    listenerPort = await freePort();
    fleet = await startFleet();
    tk = await startFleetKernel(fleet, {
      logger: createLogger('debug', {}, sink),
      config: { metrics: { anonymous: false, token: TOKEN, listener: { host: '127.0.0.1', port: listenerPort } } },
    });
    user = await tk.user();
    admin = await tk.user({ role: 'admin' });
    const res = await create(user, 'monitored');
    const op = await settle(user, res.body.operation.id);
    expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
    const server = (await user.http.get(`/api/servers/${op.instanceId}`)).body.server;
    created = { operationId: op.id, instanceId: op.instanceId, vmid: server.vmid };
  });
  after(async () => {
    await tk?.stop();
    await fleet?.stop();
  });

  describe('GET /metrics', () => {
    it('refuses a scrape without the token, with a wrong one or with a user\'s access token', async () => {
      for (const [client, status] of [[tk.http, 401], [tk.http.as('wrong-token'), 401], [user.http, 403]] as const) {
        const res = await client.get('/metrics');
        expect(res.status).to.equal(status);
        expect(res.body.error.code).to.equal(status === 401 ? 'unauthenticated' : 'forbidden');
      }
    });

    it('answers the metrics token and an admin, with lifecycle metrics of the create', async () => {
      expect((await admin.http.get('/metrics')).status).to.equal(200);
      const res = await tk.http.as(TOKEN).get('/metrics');
      expect(res.status).to.equal(200);
      expect(res.text).to.match(/zpack_operations_finished_total\{kind="create",outcome="succeeded"\} 1/);
      expect(res.text).to.match(/zpack_operation_phase_duration_seconds_count\{kind="create",phase="wait_ready"\} \d+/);
      for (const name of ['zpack_crashes_total', 'zpack_billing_transitions_total', 'zpack_repairs_total', 'zpack_queue_oldest_active_seconds', 'zpack_controller_pass_seconds']) {
        expect(res.text).to.include(`# TYPE ${name}`);
      }
    });

    it('takes an admin\'s API key only with the admin scope, as the admin routes do (403 naming the scope)', async () => {
      const keyOf = async (scopes: string[]) => (await admin.http.post('/api/me/api-keys', { name: scopes.join(' '), scopes })).body.secret as string;
      const narrow = await keyOf(['account.read']);
      for (const path of ['/metrics', '/metrics/targets']) {
        const res = await tk.http.as(narrow).get(path);
        expect(res.status, `${path}: ${res.text}`).to.equal(403);
        expect(res.body.error.details).to.deep.equal({ scope: 'admin' });
      }
      expect((await tk.http.as(await keyOf(['admin'])).get('/metrics')).status).to.equal(200);
    });

    it('has every metric the committed Grafana dashboard queries', async () => {
      const dashboard = JSON.parse(readFileSync(path.join(projectRoot, 'ops', 'grafana', 'zpack-dashboard.json'), 'utf8'));
      const exprs: string[] = dashboard.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr));
      const names = new Set(exprs.flatMap((e) => e.match(/zpack_[a-z_]+/g) ?? []).map((n) => n.replace(/_(bucket|count|sum)$/, '')));
      expect(names.size).to.be.greaterThan(10);
      const text = (await tk.http.as(TOKEN).get('/metrics')).text;
      for (const name of names) expect(text, name).to.include(`# TYPE ${name} `);
    });

    it('is served without auth on the separate internal listener', async () => {
      const res = await fetch(`http://127.0.0.1:${listenerPort}/metrics`);
      expect(res.status).to.equal(200);
      expect(await res.text()).to.include('zpack_operations_finished_total');
      expect((await fetch(`http://127.0.0.1:${listenerPort}/api/servers`)).status).to.equal(404);
    });
  });

  describe('GET /metrics/targets (Prometheus HTTP service discovery)', () => {
    it('lists every live server from the database, and a deleted one disappears', async () => {
      const res = await tk.http.as(TOKEN).get('/metrics/targets');
      expect(res.status).to.equal(200);
      const group = res.body.find((g: any) => g.labels.instance_id === created.instanceId);
      const agent = new URL(`${fleet.agents.url}/ct/${created.vmid}`);
      expect(group).to.deep.equal({
        targets: [agent.host],
        labels: {
          __metrics_path__: `/ct/${created.vmid}/metrics`, __scheme__: 'http', instance_id: created.instanceId,
          kind: 'game', type: 'minecraft', state: 'running', vmid: String(created.vmid), node: 'pve1',
        },
      });
      expect((await tk.http.get('/metrics/targets')).status).to.equal(401);

      const del = await user.http.delete(`/api/servers/${created.instanceId}`);
      expect(del.status).to.equal(202);
      expect((await settle(user, del.body.operation.id)).state).to.equal('succeeded');
      const after = await tk.http.as(TOKEN).get('/metrics/targets');
      expect(after.body.map((g: any) => g.labels.instance_id)).to.not.include(created.instanceId);
    });
  });

  it('puts the operationId and instanceId on every log line of an operation, from the request to the worker', () => {
    const ofCreate = lines.filter((l) => l.operationId === created.operationId);
    expect(ofCreate.every((l) => l.instanceId === created.instanceId)).to.equal(true);
    const request = ofCreate.find((l) => l.msg === 'request' && l.method === 'POST' && l.path === '/api/instances');
    expect(request, 'the request line').to.not.equal(undefined);
    const phases = ofCreate.filter((l) => l.msg === 'operation phase').map((l) => l.phase);
    expect(phases).to.include.members(['wait_ready', 'after_provision']);
    const unlabelled = lines.filter((l) => l.msg === 'operation phase' && !l.operationId);
    expect(unlabelled).to.deep.equal([]);
  });
});
