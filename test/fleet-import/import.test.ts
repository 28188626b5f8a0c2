import { expect } from 'chai';
import { ImportedAccountSection, InstanceType } from '../../kernel/api';
import { FleetImporter, type ImportReport } from '../../kernel/core/fleet-import/importer';
import { sampleFleet, samplePassword } from '../../kernel/core/fleet-import/sample';
import { minecraftSample } from './sample-game';
import type { FleetFile } from '../../kernel/core/fleet-import/format';
import { create, gameBody, settle, useFleetKernel } from '../provisioning/fixture';

const counts = async (ds: any) => (await ds.query(
  `SELECT (SELECT count(*)::int FROM account) AS accounts, (SELECT count(*)::int FROM instance) AS instances,
          (SELECT count(*)::int FROM vmid_allocation) AS vmids, (SELECT count(*)::int FROM port_allocation) AS ports,
          (SELECT count(*)::int FROM provisioning_operation) AS operations`))[0];

describe('zpack import: taking over the fleet of the system being replaced', () => {
  const env = useFleetKernel({ provisioning: { vmidRange: { min: 5000, max: 5099 }, portRange: { min: 30000, max: 30099 } } });
  const importer = () => new FleetImporter({
    ds: env.tk.kernel.ds, logger: env.tk.kernel.logger,
    types: () => env.tk.kernel.resolveAll(InstanceType),
    sections: () => env.tk.kernel.resolveAll(ImportedAccountSection),
  });
  const fleet = sampleFleet({ game: minecraftSample, accounts: 300, servers: 600, nodes: ['pve1'] });
  let first: ImportReport;

  before(async function () {
    this.timeout(120_000);
    first = await importer().run(FleetImporter.parse(JSON.parse(JSON.stringify(fleet))));
  });

  it('imports 300 accounts and 600 servers, each server with its VMID, node and ports reserved', async () => {
    expect(first.accounts).to.deep.equal({ imported: 300, skipped: 0, refused: 0 });
    expect(first.servers).to.deep.equal({ imported: 600, skipped: 0, refused: 0 });
    const [row] = await env.tk.kernel.ds.query(
      `SELECT i.vmid, i.node, i.ports, i.state, a.email FROM instance i JOIN account a ON a.id = i.owner_id
        JOIN fleet_import_row r ON r.target_id = i.id WHERE r.ref = 'srv_7'`);
    expect(row).to.deep.include({ vmid: 20007, node: 'pve1', state: 'stopped', email: 'player7@legacy.example' });
    expect(row.ports).to.deep.equal([{ name: 'game', port: 25572, protocol: 'tcp' }]);
    const held = await env.tk.kernel.ds.query(`SELECT count(*)::int AS n FROM vmid_allocation WHERE reason = 'imported'`);
    expect(held[0].n).to.equal(600);
  });

  it('lets every customer log in with the old password, and moves a bcrypt hash to argon2id on first login', async function () {
    this.timeout(120_000);
    const auth = env.tk.kernel.auth;
    for (let i = 0; i < 300; i++) {
      const pair = await auth.login(`player${i}@legacy.example`, samplePassword(i), `10.9.${i >> 8}.${i & 255}`);
      expect(pair.user.email).to.equal(`player${i}@legacy.example`);
    }
    const hashes = await env.tk.kernel.ds.query(`SELECT password_hash AS h FROM account WHERE email LIKE 'player%@legacy.example'`);
    expect(hashes.filter((r: any) => !r.h.startsWith('$argon2id$'))).to.deep.equal([]);
    const again = await auth.login('player3@legacy.example', samplePassword(3), '10.9.9.9');
    expect(again.user.email).to.equal('player3@legacy.example');
    const wrong = await auth.login('player4@legacy.example', 'not-the-password', '10.9.9.10').catch((e) => e);
    expect(wrong.code).to.equal('unauthenticated');
  });

  it('shows an imported customer their servers over the API', async () => {
    const res = await env.tk.inject.request('POST', '/api/auth/login', { body: { email: 'player5@legacy.example', password: samplePassword(5) } });
    expect(res.status).to.equal(200);
    const list = await env.tk.inject.request('GET', '/api/servers', { token: res.body.accessToken });
    const names = list.body.servers.map((s: any) => `${s.name}:${s.state}:${s.vmid}`).sort();
    expect(names).to.deep.equal(['World 305:running:20305', 'World 5:running:20005']);
  });

  it('changes nothing when run again: every row is skipped', async () => {
    const before = await counts(env.tk.kernel.ds);
    const again = await importer().run(FleetImporter.parse(JSON.parse(JSON.stringify(fleet))));
    expect(again.accounts).to.deep.equal({ imported: 0, skipped: 300, refused: 0 });
    expect(again.servers).to.deep.equal({ imported: 0, skipped: 600, refused: 0 });
    expect(await counts(env.tk.kernel.ds)).to.deep.equal(before);
  });

  it('writes nothing in a dry run, and says what it would import', async () => {
    const extra = sampleFleet({ game: minecraftSample, accounts: 2, servers: 2, nodes: ['pve1'], vmidBase: 40000, portBase: 45000 });
    extra.accounts = extra.accounts.map((a, i) => ({ ...a, ref: `dry_${i}`, email: `dry${i}@legacy.example` }));
    extra.servers = extra.servers.map((s, i) => ({ ...s, ref: `dry_srv_${i}`, owner: `dry_${i}` }));
    const before = await counts(env.tk.kernel.ds);
    const report = await importer().run(FleetImporter.parse(extra), { dryRun: true });
    expect(report.accounts.imported).to.equal(2);
    expect(report.servers.imported).to.equal(2);
    expect(await counts(env.tk.kernel.ds)).to.deep.equal(before);
  });

  it('refuses each bad row with its reason and imports the rest', async () => {
    const base = sampleFleet({ game: minecraftSample, accounts: 6, servers: 0, nodes: ['pve1'] });
    const accounts = base.accounts.map((a, i) => ({ ...a, ref: `bad_${i}`, email: `bad${i}@legacy.example` }));
    accounts[1] = { ...accounts[1], password: { algorithm: 'md5', hash: '5f4dcc3b5aa765d61d8327deb882cf99' } };
    accounts[2] = { ...accounts[2], email: 'BAD0@Legacy.Example' };
    const file: FleetFile = {
      format: 'zpack.fleet', version: 1, source: 'bad-rows', accounts, devContainers: [],
      servers: [
        { ref: 'twin_a', owner: 'bad_0', kind: 'game', type: 'minecraft', name: 'A', options: {}, vmid: 41000, node: 'pve1', ports: [], state: 'running' },
        { ref: 'twin_b', owner: 'bad_3', kind: 'game', type: 'minecraft', name: 'B', options: {}, vmid: 41000, node: 'pve1', ports: [], state: 'running' },
        { ref: 'low_port', owner: 'bad_3', kind: 'game', type: 'minecraft', name: 'C', options: {}, vmid: 41001, node: 'pve1', ports: [{ name: 'game', port: 80, protocol: 'tcp' }], state: 'running' },
        { ref: 'orphan', owner: 'nobody', kind: 'game', type: 'minecraft', name: 'D', options: {}, vmid: 41002, node: 'pve1', ports: [], state: 'running' },
        { ref: 'taken', owner: 'bad_4', kind: 'game', type: 'minecraft', name: 'E', options: {}, vmid: 20001, node: 'pve1', ports: [], state: 'running' },
        { ref: 'good', owner: 'bad_5', kind: 'game', type: 'minecraft', name: 'F', options: {}, vmid: 41003, node: 'pve1', ports: [{ name: 'game', port: 41003, protocol: 'tcp' }], state: 'running' },
      ],
    };
    const report = await importer().run(FleetImporter.parse(file));
    const reason = (ref: string) => report.rows.find((r) => r.ref === ref && r.outcome === 'refused')?.reason;
    expect(reason('bad_1')).to.match(/unknown password hash algorithm "md5"/);
    expect(reason('bad_2')).to.match(/already used by account bad_0/);
    expect(reason('twin_a')).to.match(/VMID 41000 is claimed by 2 rows/);
    expect(reason('twin_b')).to.match(/VMID 41000 is claimed by 2 rows/);
    expect(reason('low_port')).to.match(/port 80 is outside/);
    expect(reason('orphan')).to.match(/owner "nobody" is not an imported account/);
    expect(reason('taken')).to.match(/VMID 20001 is already held/);
    expect(report.accounts).to.deep.equal({ imported: 4, skipped: 0, refused: 2 });
    expect(report.servers).to.deep.equal({ imported: 1, skipped: 0, refused: 5 });
    const good = await env.tk.kernel.ds.query(`SELECT vmid FROM instance i JOIN fleet_import_row r ON r.target_id = i.id WHERE r.ref = 'good'`);
    expect(good).to.deep.equal([{ vmid: 41003 }]);
  });

  it('refuses a file that is not the format with one clear error, writing nothing', async () => {
    const before = await counts(env.tk.kernel.ds);
    for (const raw of [{ format: 'prisma', accounts: [] }, { format: 'zpack.fleet', version: 2, accounts: [] }, [1, 2]]) {
      const err = (() => { try { FleetImporter.parse(raw); return null; } catch (e) { return e as any; } })();
      expect(err?.code).to.equal('invalid_request');
      expect(err.message).to.match(/^not a zpack fleet file/);
    }
    expect(await counts(env.tk.kernel.ds)).to.deep.equal(before);
  });

  it('never gives a new server an imported VMID or port, even inside the allocation ranges', async () => {
    const inRange: FleetFile = {
      format: 'zpack.fleet', version: 1, devContainers: [],
      accounts: [{ ...fleet.accounts[1], ref: 'ranged', email: 'ranged@legacy.example' }],
      servers: [{ ref: 'ranged_srv', owner: 'ranged', kind: 'game', type: 'minecraft', name: 'R', options: {}, vmid: 5000, node: 'pve1', ports: [{ name: 'game', port: 30000, protocol: 'tcp' }], state: 'running' }],
    };
    expect((await importer().run(FleetImporter.parse(inRange))).servers.imported).to.equal(1);
    const user = await env.tk.user({ email: 'newcomer@zpack.test' });
    const op = await settle(user, (await create(user, 'after-import', gameBody('Fresh'))).body.operation.id);
    expect(op.state).to.equal('succeeded');
    const [fresh] = await env.tk.kernel.ds.query(`SELECT vmid, ports FROM instance WHERE id = $1`, [op.instanceId]);
    expect(fresh.vmid).to.not.equal(5000);
    expect(fresh.ports[0].port).to.not.equal(30000);
  });
});
