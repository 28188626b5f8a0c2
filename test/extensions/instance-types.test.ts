import { expect } from 'chai';
import cloudflarePlugin from '../../plugins/cloudflare';
import { CloudflareConnection } from '../../plugins/cloudflare/connection';
import velocityPlugin from '../../plugins/velocity';
import { VelocityConnection } from '../../plugins/velocity/connection';
import { startTestKernel, type TestKernel, type TestUser } from '../harness';
import { create, fleetConfig, fleetPlugins, gameBody, settle, startFleet, waitFor, type Fleet } from '../provisioning/fixture';
import { beaconBody, secondTypeConfig } from './second-type-config';

describe('Instance types declared by plugins (kinds, create schemas, capabilities, status sections)', () => {
  let fleet: Fleet;
  let tk: TestKernel;
  let user: TestUser;

  before(async () => {
    fleet = await startFleet();
    tk = await startTestKernel({
      // The beacon type comes from the second-type fixture's zpack.yaml, loaded by its module path.
      plugins: [...fleetPlugins, cloudflarePlugin, velocityPlugin],
      config: fleetConfig(fleet, secondTypeConfig({
        plugins: {
          cloudflare: { enabled: true, options: { simulate: true, simulator: { port: 0 }, zoneName: 'play.example.test', target: 'proxy.play.example.test' } },
          velocity: { enabled: true, options: { simulate: true, simulator: { port: 0 }, proxyToken: 'test-proxy-token' } },
        },
      })),
    });
    user = await tk.user();
  });
  after(async () => {
    await tk?.stop();
    await fleet?.stop();
  });

  describe('POST /api/instances', () => {
    it('creates an instance of a kind only its type declares (no database CHECK refuses it)', async () => {
      const op = await settle(user, (await create(user, 'beacon-1', beaconBody())).body.operation.id);
      expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
      const server = (await user.http.get(`/api/servers/${op.instanceId}`)).body.server;
      expect(server).to.include({ kind: 'custom', type: 'beacon', state: 'running' });
      expect(server.ports).to.deep.equal([{ name: 'beacon', port: server.ports[0].port, protocol: 'udp' }]);
    });

    it('validates options with the type’s own schema, naming the field', async () => {
      const res = await create(user, 'beacon-bad', beaconBody('x', { channel: '', memoryMb: 4096 }));
      expect(res.status).to.equal(400);
      expect(res.body.error.details.fields.map((f: any) => f.path)).to.have.members(['body.options.channel', 'body.options.memoryMb']);
    });

    it('refuses a kind other than the type’s, and an unknown type naming the enabled ones', async () => {
      const wrongKind = await create(user, 'beacon-kind', { ...beaconBody(), kind: 'game' });
      expect(wrongKind.status).to.equal(400);
      expect(wrongKind.body.error.details.fields[0].path).to.equal('body.kind');
      const unknown = await create(user, 'unknown-type', { kind: 'game', type: 'terraria', name: 'x', options: {} });
      expect(unknown.status).to.equal(400);
      expect(unknown.body.error.details.fields[0]).to.deep.equal({ path: 'body.type', message: 'enabled types: beacon, minecraft' });
    });
  });

  it('GET /api/openapi.json shows the create body as one variant per type, each with its own options', async () => {
    const doc = (await tk.http.get('/api/openapi.json')).body;
    const schema = doc.paths['/api/instances'].post.requestBody.content['application/json'].schema;
    const variants = Object.fromEntries(schema.oneOf.map((v: any) => [v.properties.type.const ?? v.properties.type.enum?.[0], v]));
    expect(Object.keys(variants)).to.have.members(['minecraft', 'beacon']);
    expect(variants.beacon.properties.options.properties).to.have.keys(['channel', 'memoryMb']);
    expect(variants.minecraft.properties.options.properties).to.have.keys(['version', 'flavor', 'memoryMb', 'modpack']);
    expect(variants.beacon.properties.kind.const ?? variants.beacon.properties.kind.enum?.[0]).to.equal('custom');
  });

  describe('capabilities', () => {
    let beacon: { id: string; vmid: number };
    let game: { id: string; vmid: number };
    before(async () => {
      const [b, g] = await Promise.all([create(user, 'cap-beacon', beaconBody('Beacon2')), create(user, 'cap-game', gameBody('Capable'))]);
      const ops = await Promise.all([settle(user, b.body.operation.id), settle(user, g.body.operation.id)]);
      const servers = await Promise.all(ops.map(async (op) => (await user.http.get(`/api/servers/${op.instanceId}`)).body.server));
      [beacon, game] = servers;
    });

    it('a type without an SRV service gets no SRV record; the Minecraft type does', () => {
      const { simulator } = tk.kernel.resolve(CloudflareConnection);
      const names = simulator!.records().map((r) => r.name);
      expect(names).to.include(`_minecraft._tcp.mc-${game.vmid}.play.example.test`);
      expect(names.filter((n) => n.includes(`mc-${beacon.vmid}.`))).to.deep.equal([]);
    });

    it('a type with proxied false is never registered with Velocity, even by a resync', async () => {
      const bridge = tk.kernel.resolve(VelocityConnection).simulator!;
      await waitFor(() => bridge.backends().some((b) => b.name === `zp-${game.vmid}`), 'the game server is registered');
      const admin = await tk.user({ role: 'admin' });
      expect((await admin.http.post('/api/velocity/resync')).body.failed).to.deep.equal([]);
      expect(bridge.backends().map((b) => b.name)).not.to.include(`zp-${beacon.vmid}`);
    });

    it('GET /api/servers/:id/status: edge and proxy show what their plugins recorded, in the documented shape', async () => {
      const [b, g] = await Promise.all([beacon, game].map(async (s) => (await user.http.get(`/api/servers/${s.id}/status`)).body));
      expect(b).to.deep.include({ edge: { published: false, record: null }, proxy: null });
      expect(g.edge).to.include({ published: true });
      expect(g.edge.record).to.include({ name: `_minecraft._tcp.mc-${game.vmid}.play.example.test` });
      expect(g.proxy).to.include({ state: 'registered' });
    });
  });

  describe('status sections', () => {
    let beacon: { id: string; ports: Array<{ port: number }> };
    before(async () => {
      const op = await settle(user, (await create(user, 'beacon-status', beaconBody('Status'))).body.operation.id);
      beacon = (await user.http.get(`/api/servers/${op.instanceId}`)).body.server;
    });
    const status = async () => {
      const res = await user.http.get(`/api/servers/${beacon.id}/status`);
      expect(res.status).to.equal(200);
      return res.body;
    };

    it('shows the type’s own section, read from its payload section, filled by a job of its own queue', async () => {
      expect((await status()).beacon).to.deep.equal({ udpPort: beacon.ports[0].port, signals: 0, lastSignal: null });
      expect((await user.http.post(`/api/beacon/instances/${beacon.id}/signals`, { text: 'all clear' })).status).to.equal(202);
      const shown = await waitFor(async () => ((await status()).beacon.signals === 1 ? (await status()).beacon : undefined), 'the signal job ran');
      expect(shown).to.deep.equal({ udpPort: beacon.ports[0].port, signals: 1, lastSignal: 'all clear' });
      const [row] = await tk.kernel.ds.query(`SELECT payload -> 'beacon' AS section FROM instance WHERE id = $1`, [beacon.id]);
      expect(row.section).to.deep.equal({ signals: 1, lastSignal: 'all clear' });
    });

    it('refuses a signal for an instance that is not one of the caller’s beacons (404)', async () => {
      const other = await tk.user();
      expect((await other.http.post(`/api/beacon/instances/${beacon.id}/signals`, { text: 'x' })).status).to.equal(404);
    });

    it('shows null for a section whose reader throws, without failing the status', async () => {
      await tk.kernel.ds.query(`UPDATE instance SET payload = jsonb_set(payload, '{beacon}', '"not a section"') WHERE id = $1`, [beacon.id]);
      expect(await status()).to.include({ state: 'running', ready: true, beacon: null });
    });
  });

  it('GET /readyz includes the type’s own health check', async () => {
    const res = await tk.http.get('/readyz');
    expect(res.status).to.equal(200);
    expect(res.body.checks).to.include({ 'beacon.sweeps': 'ok' });
  });
});
