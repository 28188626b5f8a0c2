import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BootError } from '../../kernel/api';
import { CloudflareSimulator, SIMULATOR_TOKEN as CLOUDFLARE_TOKEN } from '../../plugins/cloudflare/testing/simulator';
import { ProxmoxSimulator, SIMULATOR_TOKEN as PROXMOX_TOKEN } from '../../plugins/proxmox/testing/simulator';
import { BridgeSimulator, SIMULATOR_BRIDGE_TOKEN } from '../../plugins/velocity/testing/simulator';

/** What the embedded default relies on to find its simulated world as it left it after a restart. */
describe('Simulators with a state file', () => {
  let dir: string;
  const started: Array<{ stop(): Promise<void> }> = [];
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'zpack-sim-state-'));
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  });
  async function run<T extends { start(): Promise<string>; stop(): Promise<void> }>(sim: T): Promise<T> {
    await sim.start();
    started.push(sim);
    return sim;
  }

  describe('Proxmox', () => {
    const auth = { authorization: `PVEAPIToken=${PROXMOX_TOKEN.id}=${PROXMOX_TOKEN.secret}` };
    const create = (sim: ProxmoxSimulator, vmid: number) => fetch(`${sim.url}/nodes/pve1/lxc`, {
      method: 'POST', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ vmid: String(vmid), ostemplate: 'local:vztmpl/zpack-base.tar.zst', hostname: `ct${vmid}`, tags: 'zpack' }),
    });

    it('finds its containers again, a create that was still running taken as done', async () => {
      const stateFile = path.join(dir, 'cluster.json');
      const first = await run(new ProxmoxSimulator({ port: 0, taskMs: 60_000, stateFile }));
      expect((await create(first, 5001)).status).to.equal(200);
      expect(first.containers()[0].lock).to.equal('create');
      await first.stop();

      const second = await run(new ProxmoxSimulator({ port: 0, stateFile }));
      const list = await (await fetch(`${second.url}/nodes/pve1/lxc`, { headers: auth })).json();
      expect(list.data).to.deep.equal([{ vmid: 5001, name: 'ct5001', status: 'stopped', tags: 'zpack' }]);
      expect(second.containers()[0]).to.not.have.property('lock');
    });
  });

  describe('Cloudflare', () => {
    it('finds its records again, with their ids', async () => {
      const stateFile = path.join(dir, 'records.json');
      const headers = { authorization: `Bearer ${CLOUDFLARE_TOKEN}`, 'content-type': 'application/json' };
      const first = await run(new CloudflareSimulator({ port: 0, stateFile }));
      const created = await (await fetch(`${first.url}/zones/z1/dns_records`, {
        method: 'POST', headers,
        body: JSON.stringify({ type: 'SRV', name: '_minecraft._tcp.mc-5001.play.example.test', data: { priority: 0, weight: 5, port: 25565, target: 'proxy.play.example.test' } }),
      })).json();
      await first.stop();

      const second = await run(new CloudflareSimulator({ port: 0, stateFile }));
      const list = await (await fetch(`${second.url}/zones/z1/dns_records`, { headers })).json();
      expect(list.result.map((r: any) => [r.id, r.name])).to.deep.equal([[created.result.id, '_minecraft._tcp.mc-5001.play.example.test']]);
    });
  });

  describe('Velocity bridge', () => {
    const headers = { authorization: `Bearer ${SIMULATOR_BRIDGE_TOKEN}`, 'content-type': 'application/json' };

    it('keeps registrations while zpack restarts, and forgets them when the proxy itself restarts', async () => {
      const stateFile = path.join(dir, 'backends.json');
      const first = await run(new BridgeSimulator({ port: 0, stateFile }));
      const put = await fetch(`${first.url}/servers/zp-5001`, { method: 'PUT', headers, body: JSON.stringify({ address: '127.0.0.1', port: 30001 }) });
      expect(put.status).to.equal(201);
      const body = JSON.stringify({ address: '127.0.0.1', port: 30002, forcedHosts: ['mc-5002.play.example.test'] });
      expect((await fetch(`${first.url}/servers/zp-5002`, { method: 'PUT', headers, body })).status).to.equal(201);
      await first.stop();

      const second = await run(new BridgeSimulator({ port: 0, stateFile }));
      expect(second.backends()).to.deep.equal([
        { name: 'zp-5001', address: '127.0.0.1', port: 30001, forcedHosts: [] },
        { name: 'zp-5002', address: '127.0.0.1', port: 30002, forcedHosts: ['mc-5002.play.example.test'] },
      ]);
      expect(second.routeOf('mc-5002.play.example.test')?.name, 'the routes are kept too').to.equal('zp-5002');
      await second.restart();
      expect(second.backends()).to.deep.equal([]);
      expect(new BridgeSimulator({ stateFile }).backends()).to.deep.equal([]);
    });
  });

  it('reads a bridge state file from before forced hosts as backends without any', () => {
    const stateFile = path.join(dir, 'old-backends.json');
    writeFileSync(stateFile, JSON.stringify([{ name: 'zp-9', address: '10.0.0.9', port: 25565 }]));
    const sim = new BridgeSimulator({ stateFile });
    expect(sim.backends()).to.deep.equal([{ name: 'zp-9', address: '10.0.0.9', port: 25565, forcedHosts: [] }]);
    expect(sim.routeOf('mc-9.play.example.test')).to.equal(undefined);
  });

  it('refuses a state file that is not JSON with one sentence naming it', () => {
    const stateFile = path.join(dir, 'records.json');
    writeFileSync(stateFile, '{"truncated');
    const thrown = (() => {
      try {
        return new CloudflareSimulator({ stateFile });
      } catch (err) {
        return err;
      }
    })();
    expect(thrown).to.be.instanceOf(BootError).with.property('code', 'simulator_state_unreadable');
    expect((thrown as Error).message).to.contain(stateFile);
  });

  it('writes each change at once, so a process killed right after has lost nothing', async () => {
    const stateFile = path.join(dir, 'backends.json');
    const sim = await run(new BridgeSimulator({ port: 0, stateFile }));
    await fetch(`${sim.url}/servers/zp-7`, { method: 'PUT', headers: { authorization: `Bearer ${SIMULATOR_BRIDGE_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ address: '10.0.0.7', port: 25565 }) });
    // The answer is sent once the file is written: a simulator reading it now finds the registration.
    expect(new BridgeSimulator({ stateFile }).backends().map((b) => b.name)).to.deep.equal(['zp-7']);
  });
});
