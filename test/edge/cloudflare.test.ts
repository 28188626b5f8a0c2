import { expect } from 'chai';
import { Tokens } from '../../kernel/api';
import cloudflarePlugin from '../../plugins/cloudflare';
import { srvRecordName } from '../../plugins/cloudflare/provider';
import { CloudflareSimulator } from '../../plugins/cloudflare/testing/simulator';
import { startTestKernel, type TestKernel, type TestUser } from '../harness';
import { create, fleetConfig, fleetPlugins, settle, startFleet, type Fleet } from '../provisioning/fixture';

const ZONE = { id: '9a7806061c88ada191ed06f989cc3dac', name: 'play.example.test' };
const TOKEN = 'edge-test-token';
const PROXY = { target: 'proxy.play.example.test', port: 25577 };

describe('Cloudflare SRV records for game servers', () => {
  let fleet: Fleet;
  let cloudflare: CloudflareSimulator;
  let tk: TestKernel;
  let user: TestUser;

  before(async () => {
    fleet = await startFleet();
    cloudflare = new CloudflareSimulator({ port: 0, apiToken: TOKEN });
    await cloudflare.start();
    tk = await startTestKernel({
      plugins: [...fleetPlugins, cloudflarePlugin],
      config: fleetConfig(fleet, {
        plugins: {
          cloudflare: {
            enabled: true,
            options: {
              simulate: false, baseUrl: cloudflare.url, apiToken: TOKEN, zoneId: ZONE.id, zoneName: ZONE.name,
              ...PROXY, timeoutMs: 1000, maxRetries: 3,
            },
          },
        },
      }),
    });
    user = await tk.user();
  });
  after(async () => {
    await tk?.stop();
    await cloudflare?.stop();
    await fleet?.stop();
  });
  beforeEach(() => {
    cloudflare.requests.length = 0;
  });
  afterEach(() => cloudflare.faults.clear());

  const recordsOf = (vmid: number) => cloudflare.records(ZONE.id).filter((r) => r.name === srvRecordName('_minecraft._tcp', vmid, ZONE.name));
  const answered = () => cloudflare.requests.map((r) => `${r.method} ${r.status}`);

  async function createServer(key: string) {
    const op = await settle(user, (await create(user, key)).body.operation.id);
    const server = (await user.http.get(`/api/servers/${op.instanceId}`)).body.server;
    return { op, server };
  }
  async function running(key: string) {
    const { op, server } = await createServer(key);
    expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
    return server;
  }

  it('create publishes exactly one SRV record pointing at the proxy, and /status shows it', async () => {
    const server = await running('edge-1');
    const records = recordsOf(server.vmid);
    expect(records).to.have.length(1);
    expect(records[0]).to.deep.include({
      type: 'SRV', name: `_minecraft._tcp.mc-${server.vmid}.play.example.test`,
      data: { priority: 0, weight: 5, port: 25577, target: 'proxy.play.example.test' },
    });

    const status = await user.http.get(`/api/servers/${server.id}/status`);
    expect(status.status).to.equal(200);
    expect(status.body.edge.published).to.equal(true);
    expect(status.body.edge.record).to.deep.equal({ id: records[0].id, name: records[0].name, ...PROXY });
  });

  it('the server, alone and in the list, carries the player-facing address as connect', async () => {
    const server = await running('edge-connect');
    const connect = { host: `mc-${server.vmid}.play.example.test`, port: PROXY.port };
    expect(server.connect).to.deep.equal(connect);
    const listed = (await user.http.get('/api/servers?limit=200')).body.servers.find((s: { id: string }) => s.id === server.id);
    expect(listed.connect).to.deep.equal(connect);
  });

  it('delete removes the record and reports edge_unpublish in the delete operation', async () => {
    const server = await running('edge-2');
    expect(recordsOf(server.vmid)).to.have.length(1);
    const accepted = await user.http.delete(`/api/servers/${server.id}`);
    const op = await settle(user, accepted.body.operation.id);
    expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
    expect(op.report.map((s: any) => [s.step, s.outcome])).to.deep.include(['edge_unpublish', 'done']);
    expect(recordsOf(server.vmid)).to.deep.equal([]);
  });

  it('publishing the same instance again still leaves one record', async () => {
    const server = await running('edge-3');
    const view = await tk.kernel.resolve(Tokens.Instances).get(server.id);
    await tk.kernel.hooks.afterProvision.promise(view!);
    await tk.kernel.hooks.afterProvision.promise(view!);
    expect(recordsOf(server.vmid)).to.have.length(1);
    expect(answered().filter((a) => a.startsWith('POST'))).to.deep.equal(['POST 200']);
  });

  it('waits out a Cloudflare 429 with Retry-After 1 s during create, and the operation succeeds', async () => {
    cloudflare.faults.rateLimitNext(1, 1);
    const server = await running('edge-4');
    expect(answered().slice(0, 2)).to.deep.equal(['GET 429', 'GET 200']);
    expect(cloudflare.requests[1].at - cloudflare.requests[0].at).to.be.at.least(950);
    expect(recordsOf(server.vmid)).to.have.length(1);
  });

  it('5 consecutive 5xx fail the create at after_provision with the upstream status; the server keeps running', async () => {
    cloudflare.faults.failNext(5, 503);
    const { op, server } = await createServer('edge-5');
    expect(op.state).to.equal('failed');
    expect(op.phase).to.equal('after_provision');
    expect(op.error).to.deep.include({ code: 'provider_error', phase: 'after_provision' });
    expect(op.error.details).to.deep.include({
      remote: 'cloudflare', operation: 'list dns records', status: 503, hook: 'afterProvision', plugin: 'cloudflare',
    });
    expect(op.error.details.body.errors).to.deep.equal([{ code: 10002, message: 'Service Unavailable' }]);
    expect(answered()).to.deep.equal(Array(4).fill('GET 503'));
    expect(server.state).to.equal('running');
    expect(fleet.proxmox.containers().find((c) => c.vmid === server.vmid)).to.include({ status: 'running' });
    expect(recordsOf(server.vmid)).to.deep.equal([]);
    expect((await user.http.get(`/api/servers/${server.id}/status`)).body.edge).to.deep.equal({ published: false, record: null });
    expect((await user.http.get(`/api/servers/${server.id}`)).body.server.connect).to.equal(null);
  });

  it('onRepair republishes a server whose record went missing, and leaves other drift kinds alone', async () => {
    const server = await running('edge-6');
    const [record] = recordsOf(server.vmid);
    await fetch(`${cloudflare.url}/zones/${ZONE.id}/dns_records/${record.id}`, {
      method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(2000),
    });
    expect(recordsOf(server.vmid)).to.deep.equal([]);

    const result = await tk.kernel.hooks.onRepair.promise({ kind: 'edge_missing', instanceId: server.id, detail: {} });
    expect(result).to.deep.include({ action: 'edge_republish', ok: true });
    const [republished] = recordsOf(server.vmid);
    expect(republished.data).to.deep.equal({ priority: 0, weight: 5, ...PROXY });
    const status = await user.http.get(`/api/servers/${server.id}/status`);
    expect(status.body.edge).to.deep.include({ published: true, record: { id: republished.id, name: republished.name, ...PROXY } });

    expect(await tk.kernel.hooks.onRepair.promise({ kind: 'proxy_missing', instanceId: server.id, detail: {} })).to.equal(undefined);
  });
});
