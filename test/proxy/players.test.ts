import { expect } from 'chai';
import net from 'node:net';
import cloudflarePlugin from '../../plugins/cloudflare';
import { CloudflareClient } from '../../plugins/cloudflare/client/cloudflare-client';
import type { DnsRecord } from '../../plugins/cloudflare/client/wire';
import { CloudflareSimulator } from '../../plugins/cloudflare/testing/simulator';
import { AgentSimulator } from '../../plugins/agent/testing/simulator';
import { ProxmoxSimulator } from '../../plugins/proxmox/testing/simulator';
import velocityPlugin from '../../plugins/velocity';
import { VelocityConnection } from '../../plugins/velocity/connection';
import { attemptLogin, motdOf, queryStatus, type StatusOutcome } from '../../plugins/velocity/testing/minecraft-protocol';
import type { BridgeSimulator } from '../../plugins/velocity/testing/simulator';
import { startTestKernel, type TestKernel, type TestUser } from '../harness';
import { create, fleetConfig, fleetPlugins, gameBody, settle, type Fleet } from '../provisioning/fixture';

const ZONE = { id: '9a7806061c88ada191ed06f989cc3dac', name: 'play.example.test' };
const CLOUDFLARE_TOKEN = 'players-test-token';
const PROXY_TOKEN = 'players-proxy-token';
/** The proxy's public name, as the SRV records give it; this test's resolver sends it to the proxy simulator. */
const PROXY_HOST = 'proxy.play.example.test';
const SRV_SERVICE = '_minecraft._tcp';

interface Player {
  /** What the player types: the server's player address. */
  typed: string;
  answer: StatusOutcome;
  srv: DnsRecord;
}

/**
 * A player joins by name only: `mc-<vmid>.<zone>` leads, through the SRV record in DNS, to the
 * proxy, and the proxy routes the name the player typed to that server's game port.
 */
describe('Players reach the right server: DNS, the proxy and the game port', () => {
  let fleet: Fleet;
  let cloudflare: CloudflareSimulator;
  let dns: CloudflareClient;
  let tk: TestKernel;
  let bridge: BridgeSimulator;
  let user: TestUser;
  let playerPort: number;
  const servers: Array<{ id: string; name: string; vmid: number; gamePort: number; typed: string }> = [];

  before(async function () {
    this.timeout(60_000);
    playerPort = await freePort();
    // Game servers really listen on their game ports here: a range of this run's own, away from the
    // default one and below the kernel's ephemeral ports (32768 on), where another socket could hold one.
    const base = 20_000 + Math.floor(Math.random() * 9_000);
    const agents = await new AgentSimulator({ port: 0, bootMs: 30, gameServers: true }).start();
    const proxmox = new ProxmoxSimulator({ port: 0, taskMs: 5, agentSimulatorUrl: agents.url });
    await proxmox.start();
    fleet = { proxmox, agents, stop: async () => { await proxmox.stop(); await agents.stop(); } };
    cloudflare = new CloudflareSimulator({ port: 0, apiToken: CLOUDFLARE_TOKEN });
    await cloudflare.start();
    dns = new CloudflareClient({ baseUrl: cloudflare.url, apiToken: CLOUDFLARE_TOKEN, timeoutMs: 2000, deadlineMs: 5000, maxRetries: 1, listPageSize: 100 });
    tk = await startTestKernel({
      plugins: [...fleetPlugins, cloudflarePlugin, velocityPlugin],
      config: fleetConfig(fleet, {
        provisioning: { portRange: { min: base, max: base + 49 } },
        plugins: {
          cloudflare: {
            enabled: true,
            options: {
              simulate: false, baseUrl: cloudflare.url, apiToken: CLOUDFLARE_TOKEN, zoneId: ZONE.id, zoneName: ZONE.name,
              target: PROXY_HOST, port: playerPort, timeoutMs: 1000, maxRetries: 1,
            },
          },
          velocity: { enabled: true, options: { simulate: true, simulator: { port: 0, playerPort }, proxyToken: PROXY_TOKEN, timeoutMs: 2000 } },
        },
      }),
    });
    bridge = tk.kernel.resolve(VelocityConnection).simulator!;
    user = await tk.user();
    const ops = await Promise.all(['Alpha', 'Bravo'].map(async (name) => (await create(user, `player-${name}`, gameBody(name))).body.operation));
    for (const [n, op] of (await Promise.all(ops.map((o) => settle(user, o.id)))).entries()) {
      expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
      const server = (await user.http.get(`/api/servers/${op.instanceId}`)).body.server;
      expect(server.connect, 'the server list gives players its address').to.deep.equal({ host: `mc-${server.vmid}.${ZONE.name}`, port: playerPort });
      const gamePort = server.ports.find((p: { name: string }) => p.name === 'game').port;
      servers.push({ id: server.id, name: n === 0 ? 'Alpha' : 'Bravo', vmid: server.vmid, gamePort, typed: server.connect.host });
    }
    for (const s of servers) expect(fleet.agents.gamePorts().get(s.vmid), `game port of ${s.name}`).to.deep.include({ port: s.gamePort, listening: true });
  });
  after(async () => {
    await tk?.stop();
    await cloudflare?.stop();
    await fleet?.stop();
  });

  /** What a Minecraft client does with the address typed: SRV lookup, then handshake with that address at the SRV target. */
  async function join(typed: string): Promise<Player> {
    const records = await dns.listDnsRecords(ZONE.id, { type: 'SRV', name: `${SRV_SERVICE}.${typed}` });
    expect(records, `one SRV record for ${typed}`).to.have.length(1);
    const [srv] = records;
    const answer = await queryStatus({ host: resolve(srv.data!.target!), port: srv.data!.port!, serverAddress: typed, serverPort: srv.data!.port! });
    return { typed, answer, srv };
  }
  const motd = (answer: StatusOutcome) => (answer.ok ? motdOf(answer.status) : `no answer: ${answer.reason} (${answer.detail})`);
  const statusAnswers = () => new Map(servers.map((s) => [s.name, fleet.agents.gamePorts().get(s.vmid)?.statusAnswers ?? 0]));

  it("a player typing mc-<vmid>.<zone> gets that server's own status from its game port, through the proxy", async () => {
    const [alpha, bravo] = servers;
    const before = statusAnswers();
    const player = await join(alpha.typed);
    expect(player.srv.data).to.deep.include({ target: PROXY_HOST, port: playerPort });
    expect(motd(player.answer)).to.equal('Alpha');
    expect(statusAnswers().get('Alpha')).to.equal(before.get('Alpha')! + 1);
    expect(statusAnswers().get('Bravo'), 'the other server was never asked').to.equal(before.get('Bravo'));
    expect(bridge.playerConnections.at(-1)).to.deep.include({ host: alpha.typed, backend: `zp-${alpha.vmid}` });

    const other = await join(bravo.typed);
    expect(motd(other.answer)).to.equal('Bravo');
    expect(statusAnswers().get('Bravo')).to.equal(before.get('Bravo')! + 1);
    expect(statusAnswers().get('Alpha')).to.equal(before.get('Alpha')! + 1);
  });

  it('routes each name to its own server every time, however often players come', async () => {
    const rounds = await Promise.all(Array.from({ length: 10 }, (_, i) => join(servers[i % 2].typed)));
    expect(rounds.map((r) => motd(r.answer))).to.deep.equal(Array.from({ length: 10 }, (_, i) => servers[i % 2].name));
  });

  it('registers each server with its player address as forced host, and rehydrate hands them to a starting proxy', async () => {
    for (const s of servers) {
      expect(bridge.backends().find((b) => b.name === `zp-${s.vmid}`)).to.deep.equal({
        name: `zp-${s.vmid}`, address: '127.0.0.1', port: s.gamePort, forcedHosts: [s.typed],
      });
    }
    const res = await tk.http.as(PROXY_TOKEN).get('/api/velocity/rehydrate');
    expect(res.status).to.equal(200);
    expect(res.body.servers.map((b: { name: string; forcedHosts: string[] }) => [b.name, b.forcedHosts]).sort())
      .to.deep.equal(servers.map((s) => [`zp-${s.vmid}`, [s.typed]]).sort());
  });

  it('refuses a name no server has: a status ping is closed unanswered, a login is told why', async () => {
    const before = statusAnswers();
    const unknown = `mc-${Math.max(...servers.map((s) => s.vmid)) + 100}.${ZONE.name}`;
    const ping = await queryStatus({ ...bridge.playerAddress, serverAddress: unknown });
    expect(ping).to.deep.include({ ok: false, reason: 'closed' });
    const login = await attemptLogin({ ...bridge.playerAddress, serverAddress: unknown });
    expect(login).to.deep.equal({ disconnected: true, reason: `Unable to connect you to ${unknown}. No server of that name is available.` });
    // A backend name, the zone, or the proxy's own name route nowhere either: only player addresses do.
    for (const typed of [`zp-${servers[0].vmid}`, ZONE.name, PROXY_HOST]) {
      expect(await queryStatus({ ...bridge.playerAddress, serverAddress: typed }), typed).to.deep.include({ ok: false, reason: 'closed' });
    }
    expect(statusAnswers()).to.deep.equal(before);
  });

  it('after a proxy restart, players are refused until a resync gives the names back', async () => {
    await bridge.restart();
    expect((await join(servers[0].typed)).answer).to.deep.include({ ok: false, reason: 'closed' });
    const admin = await tk.user({ role: 'admin' });
    expect((await admin.http.post('/api/velocity/resync')).body).to.deep.equal({ registered: 2, failed: [] });
    expect(motd((await join(servers[0].typed)).answer)).to.equal('Alpha');
    expect(motd((await join(servers[1].typed)).answer)).to.equal('Bravo');
  });

  it('a deleted server takes its name along: no record, no route, and the other server still answers', async () => {
    const [alpha, bravo] = servers;
    const op = await settle(user, (await user.http.delete(`/api/servers/${alpha.id}`)).body.operation.id);
    expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
    expect(await dns.listDnsRecords(ZONE.id, { type: 'SRV', name: `${SRV_SERVICE}.${alpha.typed}` })).to.deep.equal([]);
    expect(bridge.routeOf(alpha.typed)).to.equal(undefined);
    expect(await queryStatus({ ...bridge.playerAddress, serverAddress: alpha.typed })).to.deep.include({ ok: false, reason: 'closed' });
    expect(motd((await join(bravo.typed)).answer)).to.equal('Bravo');
  });
});

/** The test's resolver: the SRV target is the proxy, which listens on loopback here. */
function resolve(host: string): string {
  if (host !== PROXY_HOST) throw new Error(`the SRV record points at ${host}, not the proxy`);
  return '127.0.0.1';
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}
