import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { TestUser } from '../harness';
import { create, settle, waitFor } from '../provisioning/fixture';
import { folder, server, serverBody, useModsWorld } from './fixture';

describe('Servers from a modpack: options.modpack at POST /api/instances', () => {
  // A pack whose download fails its hash never boots: waiting for it is kept short.
  const world = useModsWorld({ provisioning: { readyPollMs: 25, readyTimeoutSeconds: 3, leaseSeconds: 3 } });
  let owner: TestUser;
  const pack = (slug: string) => {
    const project = world.modrinth.project(slug);
    return { projectId: project.id, versionId: project.versions[0] };
  };
  const servers = async () => (await world.tk.kernel.ds.query(`SELECT count(*)::int AS n FROM instance`))[0].n;

  before(async () => {
    owner = await world.tk.user({ email: 'pack-owner@zpack.test' });
  });

  it('boots with every server-side file of the pack, each matching its sha512, and the overrides laid over', async () => {
    const s = await server(owner, 'pack-ok', serverBody('fabric', '1.21.4', { modpack: pack('survival-essentials') }));
    const root = world.fleet.agents.rootOf(s.vmid);
    const mods = folder(root);
    const expected = ['fabric-api', 'lithium', 'ferrite-core', 'chunky'].map((slug) => {
      const newest = world.modrinth.versions.filter((v) => v.project_id === world.modrinth.project(slug).id && v.game_versions.includes('1.21.4') && v.loaders.includes('fabric'))
        .sort((a, b) => b.date_published.localeCompare(a.date_published))[0];
      return newest.files[0];
    });
    expect(Object.keys(mods).sort()).to.deep.equal(expected.map((f) => `mods/${f.filename}`).sort());
    for (const f of expected) expect(mods[`mods/${f.filename}`]).to.equal(f.hashes.sha512);
    expect(Object.keys(mods).some((f) => f.includes('modmenu')), 'a client-only file stays off the server').to.equal(false);
    expect(readFileSync(path.join(root, 'config/lithium.properties'), 'utf8')).to.equal('mixin.ai=true\n');
    expect(readFileSync(path.join(root, 'config/chunky.json'), 'utf8')).to.equal('{"continueOnRestart":true}\n');
    expect(world.fleet.agents.containers().get(s.vmid)!.state).to.be.oneOf(['starting', 'running']);

    const list = (await owner.http.get(`/api/servers/${s.id}/mods`)).body.mods;
    expect(list.map((m: any) => m.slug).sort()).to.deep.equal(['chunky', 'fabric-api', 'ferrite-core', 'lithium']);
    expect(list.every((m: any) => m.source === 'modpack' && m.enabled && m.loader === 'fabric')).to.equal(true);
  });

  it('keeps a server whose pack file fails its sha512 from booting, with nothing written to its mods folder', async () => {
    const lithium = world.modrinth.version('lithium', 'mc1.21.4-0.14.7').files[0].filename;
    world.modrinth.faults.corruptFiles.add(lithium);
    const res = await create(owner, 'pack-corrupt', serverBody('fabric', '1.21.4', { modpack: pack('survival-essentials') }));
    expect(res.status).to.equal(202);
    const instanceId = res.body.operation.instanceId;
    // While the create waits for readiness, the container holds its payload and refuses to boot.
    const vmid = await waitFor(async () => {
      for (const [id, c] of world.fleet.agents.containers()) {
        if (c.provisionedPayload?.instanceId !== instanceId) continue;
        const ready = await fetch(`${world.fleet.agents.address(id)}/ready`, { headers: { authorization: `Bearer ${c.token}` } });
        const body = await ready.json() as { phase?: string };
        if (body.phase === 'install_failed') return id;
      }
      return undefined;
    }, 'the agent refused the pack');
    expect(world.fleet.agents.containers().get(vmid)!.state).to.equal('stopped');
    expect(folder(world.fleet.agents.rootOf(vmid))).to.deep.equal({});
    const op = await settle(owner, res.body.operation.id);
    world.modrinth.faults.corruptFiles.clear();
    expect(op.state).to.equal('failed');
    expect(op.error, JSON.stringify(op.error)).to.include({ code: 'ready_timeout', phase: 'wait_ready' });
  });

  it('refuses at create a pack archive that fails its sha512 (502), creating nothing', async () => {
    const before = await servers();
    world.modrinth.faults.corruptDownloads = 1;
    const res = await create(owner, 'pack-bad-archive', serverBody('fabric', '1.21.4', { modpack: pack('survival-essentials') }));
    expect(res.status).to.equal(502);
    expect(res.body.error.details).to.include({ remote: 'modrinth', reason: 'hash_mismatch' });
    expect(await servers()).to.equal(before);
  });

  it('refuses a pack with an entry whose path escapes the server root (422), creating nothing', async () => {
    const before = await servers();
    const res = await create(owner, 'pack-escape', serverBody('fabric', '1.21.4', { modpack: pack('escape-artist') }));
    expect(res.status).to.equal(422);
    expect(res.body.error).to.include({ code: 'modpack_unsafe' });
    expect(res.body.error.details.path).to.equal('../../../etc/cron.d/owned.jar');
    expect(await servers()).to.equal(before);
  });

  it('refuses a pack for another loader or game version (409 naming it)', async () => {
    const paper = await create(owner, 'pack-paper', serverBody('paper', '1.21.4', { modpack: pack('survival-essentials') }));
    expect(paper.status).to.equal(409);
    expect(paper.body.error.message).to.equal('Survival Essentials runs on fabric, not on a paper server');
    const older = await create(owner, 'pack-old', serverBody('fabric', '1.21.1', { modpack: pack('survival-essentials') }));
    expect(older.status).to.equal(409);
    expect(older.body.error.message).to.equal('Survival Essentials is for Minecraft 1.21.4, not 1.21.1');
  });

  it('refuses a project that is not a modpack (400) and a plan without mods (403)', async () => {
    const notPack = await create(owner, 'pack-notpack', serverBody('fabric', '1.21.4', { modpack: pack('lithium') }));
    expect(notPack.status).to.equal(400);
    world.plans.plans.set(owner.id, { plan: 'vanilla', maxInstances: 5, memoryMbMax: 8192, flavors: [], mods: false });
    try {
      const gated = await create(owner, 'pack-gated', serverBody('fabric', '1.21.4', { modpack: pack('survival-essentials') }));
      expect(gated.status).to.equal(403);
      expect(gated.body.error.message).to.include('"vanilla"');
    } finally {
      world.plans.plans.delete(owner.id);
    }
  });

  it('answers 503 with Retry-After when the catalog is down, creating nothing', async () => {
    const before = await servers();
    world.modrinth.faults.failNext(1, 503);
    const res = await create(owner, 'pack-down', serverBody('fabric', '1.21.4', { modpack: pack('survival-essentials') }));
    expect(res.status).to.equal(503);
    expect(res.headers.get('retry-after')).to.equal('7');
    expect(await servers()).to.equal(before);
  });
});
