import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Tokens } from '../../kernel/api';
import type { TestUser } from '../harness';
import { settle, waitFor } from '../provisioning/fixture';
import { change, folder, server, serverBody, useModsWorld } from './fixture';
import { subuser } from '../management/fixture';

const sha512 = (file: string) => createHash('sha512').update(readFileSync(file)).digest('hex');

describe('Mods on a server: /api/servers/:id/mods', () => {
  const world = useModsWorld();
  let owner: TestUser;
  let fabric: { id: string; vmid: number };
  let root: string;
  const mods = async () => (await owner.http.get(`/api/servers/${fabric.id}/mods`)).body;
  const byName = async (name: string) => (await mods()).mods.find((m: any) => m.name === name);
  let clock = Date.now();
  /** The agent reports a crash with this log tail, as the agent would. */
  const crash = async (logTail: string[]) => {
    clock += 1000;
    const res = await world.tk.http.post('/api/agent/events', {
      type: 'crash', instanceId: fabric.id, at: new Date(clock).toISOString(), exitCode: 1, signal: null, uptimeSeconds: 5, logTail,
    }, { token: world.tk.kernel.resolve(Tokens.AgentTokens).tokenFor(fabric.id) });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
  };

  before(async () => {
    owner = await world.tk.user({ email: 'mods-owner@zpack.test' });
    fabric = await server(owner, 'mods-fabric', serverBody('fabric'));
    root = world.fleet.agents.rootOf(fabric.vmid);
  });

  it('installs a mod with its two-level dependency chain: all three files in mods/, each matching its sha512', async () => {
    const op = await change(owner, await owner.http.post(`/api/servers/${fabric.id}/mods`, { projectId: 'continuity' }));
    expect(op).to.include({ state: 'succeeded', kind: 'minecraft.mods.install', phase: 'done' });
    const list = await mods();
    expect(list.mods.map((m: any) => m.slug).sort()).to.deep.equal(['continuity', 'indium', 'sodium']);
    for (const m of list.mods) {
      const catalogFile = world.modrinth.versions.find((v) => v.id === m.versionId)!.files[0];
      expect(m.path).to.equal(`mods/${catalogFile.filename}`);
      expect(sha512(path.join(root, m.path))).to.equal(catalogFile.hashes.sha512).and.to.equal(m.sha512);
      expect(m).to.include({ loader: 'fabric', enabled: true, source: 'modrinth' });
      expect(m.version).to.match(/1\.21\.4/);
    }
    expect(list.mods.find((m: any) => m.slug === 'continuity').dependency).to.equal(false);
    expect(list.mods.find((m: any) => m.slug === 'sodium').dependency).to.equal(true);
    expect(Object.keys(folder(root))).to.have.length(3);
  });

  it('restarts a running server after the change (a new process)', async () => {
    const before = world.fleet.agents.containers().get(fabric.vmid)!.pid;
    await change(owner, await owner.http.post(`/api/servers/${fabric.id}/mods`, { projectId: 'krypton' }));
    expect(world.fleet.agents.containers().get(fabric.vmid)!.pid).to.not.equal(before);
    expect((await mods()).restartNeeded).to.equal(false);
  });

  it('refuses to remove the middle of the chain, naming the mod that requires it (409)', async () => {
    const indium = await byName('Indium');
    const res = await owner.http.delete(`/api/servers/${fabric.id}/mods/${indium.id}`);
    expect(res.status).to.equal(409);
    expect(res.body.error.message).to.include('Continuity');
    expect(res.body.error.details.dependents.map((d: any) => d.name)).to.deep.equal(['Continuity']);
    expect(Object.keys(folder(root))).to.include(indium.path);
  });

  it('disables and enables a mod by renaming its jar', async () => {
    const krypton = await byName('Krypton');
    await change(owner, await owner.http.patch(`/api/servers/${fabric.id}/mods/${krypton.id}`, { enabled: false }));
    const files = Object.keys(folder(root));
    expect(files).to.include(`${krypton.path}.disabled`).and.not.include(krypton.path);
    expect((await byName('Krypton')).enabled).to.equal(false);
    await change(owner, await owner.http.patch(`/api/servers/${fabric.id}/mods/${krypton.id}`, { enabled: true }));
    expect(Object.keys(folder(root))).to.include(krypton.path);
  });

  it('lists an available update and applies it: the new jar in place, the old one gone', async () => {
    const old = world.modrinth.version('lithium', 'mc1.21.4-0.14.3');
    await change(owner, await owner.http.post(`/api/servers/${fabric.id}/mods`, { projectId: 'lithium', versionId: old.id }));
    const lithium = await byName('Lithium');
    expect(lithium.versionId).to.equal(old.id);
    const updates = (await owner.http.get(`/api/servers/${fabric.id}/mods/updates`)).body.updates;
    const newer = world.modrinth.version('lithium', 'mc1.21.4-0.14.7');
    expect(updates).to.deep.include.members([{
      modId: lithium.id, projectId: lithium.projectId, name: 'Lithium', currentVersionId: old.id, currentVersion: 'mc1.21.4-0.14.3',
      latestVersionId: newer.id, latestVersion: 'mc1.21.4-0.14.7', publishedAt: newer.date_published,
    }]);
    const op = await change(owner, await owner.http.patch(`/api/servers/${fabric.id}/mods/${lithium.id}`, { versionId: newer.id }));
    expect(op).to.include({ state: 'succeeded', kind: 'minecraft.mods.update' });
    const files = folder(root);
    expect(files[`mods/${newer.files[0].filename}`]).to.equal(newer.files[0].hashes.sha512);
    expect(files).to.not.have.property(`mods/${old.files[0].filename}`);
    const after = await byName('Lithium');
    expect(after).to.include({ id: lithium.id, versionId: newer.id, version: 'mc1.21.4-0.14.7' });
  });

  it('fails a download whose hash does not match and leaves the mods folder byte-for-byte as it was', async () => {
    const before = folder(root);
    const listBefore = (await mods()).mods;
    world.modrinth.faults.corruptDownloads = 1;
    const op = await change(owner, await owner.http.post(`/api/servers/${fabric.id}/mods`, { projectId: 'ferrite-core' }));
    expect(op.state).to.equal('failed');
    expect(op.error).to.include({ code: 'hash_mismatch', phase: 'download' });
    expect(folder(root)).to.deep.equal(before);
    expect((await mods()).mods).to.deep.equal(listBefore);
    expect(folder(path.dirname(root), 'staging')).to.deep.equal({});
  });

  describe('conflicts are 409 and start nothing', () => {
    const refused = async (body: unknown) => {
      const before = folder(root);
      const res = await owner.http.post(`/api/servers/${fabric.id}/mods`, body);
      expect(res.status, JSON.stringify(res.body)).to.equal(409);
      expect(folder(root)).to.deep.equal(before);
      return res.body.error;
    };

    it('a mod for another loader names the loaders it runs on', async () => {
      const error = await refused({ projectId: 'create' });
      expect(error.message).to.equal('Create runs on forge, neoforge, not on a fabric server');
      expect(error.details).to.include({ reason: 'loader' });
    });

    it('a mod for another game version names the versions it supports', async () => {
      const error = await refused({ projectId: 'journeymap' });
      expect(error.message).to.include('no version for Minecraft 1.21.4').and.include('1.20.6');
      expect(error.details).to.include({ reason: 'game_version' });
    });

    it('a pinned version for another game version', async () => {
      const error = await refused({ projectId: 'sodium', versionId: world.modrinth.version('sodium', 'mc1.21.1-0.6.0').id });
      expect(error.details.reason).to.be.oneOf(['game_version', 'installed']);
    });

    it('a declared incompatibility with an installed mod', async () => {
      await change(owner, await owner.http.post(`/api/servers/${fabric.id}/mods`, { projectId: 'starlight' }));
      const error = await refused({ projectId: 'phosphor' });
      expect(error.message).to.equal('Phosphor is incompatible with Starlight');
      expect(error.details).to.include({ reason: 'incompatible' });
    });
  });

  it('answers 503 with Retry-After when the catalog rate-limits or fails, and installs nothing', async () => {
    const before = folder(root);
    world.modrinth.faults.rateLimitNext(1, 42);
    const limited = await owner.http.post(`/api/servers/${fabric.id}/mods`, { projectId: 'appleskin' });
    expect(limited.status).to.equal(503);
    expect(limited.headers.get('retry-after')).to.equal('42');
    world.modrinth.faults.failNext(1, 502);
    const failed = await owner.http.post(`/api/servers/${fabric.id}/mods`, { projectId: 'appleskin' });
    expect(failed.status).to.equal(503);
    expect(failed.headers.get('retry-after')).to.equal('7');
    expect(folder(root)).to.deep.equal(before);
    const [{ n }] = await world.tk.kernel.ds.query(`SELECT count(*)::int AS n FROM minecraft_mod WHERE slug = 'appleskin'`);
    expect(n).to.equal(0);
  });

  it('removes with cascade=true the mod and every mod requiring it', async () => {
    const sodium = await byName('Sodium');
    const op = await change(owner, await owner.http.delete(`/api/servers/${fabric.id}/mods/${sodium.id}?cascade=true`));
    expect(op).to.include({ state: 'succeeded', kind: 'minecraft.mods.remove' });
    const slugs = (await mods()).mods.map((m: any) => m.slug);
    expect(slugs).to.not.include.members(['sodium']);
    expect(slugs).to.not.include('indium');
    expect(slugs).to.not.include('continuity');
    expect(Object.keys(folder(root)).some((f) => /sodium|indium|continuity/.test(f))).to.equal(false);
  });

  it('exports the enabled mods as a modpack index with hashes, sides and downloads', async () => {
    const res = await owner.http.get(`/api/servers/${fabric.id}/mods/export`);
    expect(res.status).to.equal(200);
    expect(res.body).to.include({ formatVersion: 1, game: 'minecraft', name: 'mods-fabric' });
    expect(res.body.dependencies).to.deep.equal({ minecraft: '1.21.4' });
    const list = (await mods()).mods;
    expect(res.body.files.map((f: any) => f.path).sort()).to.deep.equal(list.filter((m: any) => m.enabled).map((m: any) => m.path).sort());
    for (const f of res.body.files) {
      expect(f.hashes.sha512).to.equal(folder(root)[f.path]);
      expect(f.env.server).to.equal('required');
      expect(f.downloads[0]).to.match(/^http:\/\/127\.0\.0\.1:\d+\/data\//);
    }
  });

  it('pages the mod list with limit and cursor', async () => {
    await change(owner, await owner.http.post(`/api/servers/${fabric.id}/mods`, { projectId: 'chunky' }));
    const all = (await mods()).mods.map((m: any) => m.id);
    expect(all.length).to.be.greaterThan(3);
    const first = await owner.http.get(`/api/servers/${fabric.id}/mods?limit=2`);
    expect(first.status, JSON.stringify(first.body)).to.equal(200);
    expect(first.body.mods.map((m: any) => m.id)).to.deep.equal(all.slice(0, 2));
    const second = await owner.http.get(`/api/servers/${fabric.id}/mods?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.mods.map((m: any) => m.id)).to.deep.equal(all.slice(2, 4));
    expect((await owner.http.get(`/api/servers/${fabric.id}/mods?cursor=nope!`)).status).to.equal(400);
    expect((await owner.http.get(`/api/servers/${fabric.id}/mods?sort=name`)).status).to.equal(400);
  });

  it('names the blamed mod in the crash report, and the mod list marks it and offers to disable it', async () => {
    const krypton = await byName('Krypton');
    await crash(['[12:00:00] [Server thread/INFO]: Starting minecraft server version 1.21.4', '[12:00:02] [main/ERROR]: Mixin apply for mod krypton failed krypton.mixins.json:network.PacketMixin']);
    const crashes = (await owner.http.get(`/api/servers/${fabric.id}/crashes`)).body.crashes;
    expect(crashes[0]).to.include({ classification: 'mod_or_plugin_error' });
    expect(crashes[0].culprit).to.deep.equal({ name: 'krypton' });
    const list = await waitFor(async () => {
      const body = await mods();
      return body.fixes.length ? body : undefined;
    }, 'the mod list offers a fix');
    expect(list.mods.find((m: any) => m.id === krypton.id).blamed).to.deep.include({ classification: 'mod_or_plugin_error' });
    expect(list.fixes).to.deep.equal([{ action: 'disable', modId: krypton.id, reason: 'The last crash (mod_or_plugin_error) names Krypton' }]);
  });

  it('offers to install the dependency a crash says is missing', async () => {
    await crash(["[12:00:02] [main/ERROR]: Mod 'Krypton' (krypton) 0.2.8 requires any version of velocitylib, which is missing!"]);
    const crashes = (await owner.http.get(`/api/servers/${fabric.id}/crashes`)).body.crashes;
    expect(crashes[0]).to.deep.include({ classification: 'missing_dependency', culprit: { name: 'krypton', missing: 'velocitylib' } });
    const list = await waitFor(async () => {
      const body = await mods();
      return body.fixes[0]?.action === 'install' ? body : undefined;
    }, 'the mod list offers to install the dependency');
    expect(list.fixes[0]).to.include({ action: 'install', project: 'velocitylib' });
  });

  describe('the plan and the gate', () => {
    it('refuses installs on a plan without mods (403 naming the plan)', async () => {
      world.plans.plans.set(owner.id, { plan: 'vanilla', maxInstances: 3, memoryMbMax: 4096, flavors: [], mods: false });
      try {
        const res = await owner.http.post(`/api/servers/${fabric.id}/mods`, { projectId: 'appleskin' });
        expect(res.status).to.equal(403);
        expect(res.body.error.message).to.include('"vanilla"');
      } finally {
        world.plans.plans.delete(owner.id);
      }
    });

    it("reads the server owner's plan, not the caller's: a subuser's modded plan does not lend mods to a vanilla-plan server (403), nor does a vanilla plan withhold them from a modded one", async () => {
      const helper = await subuser(world.tk, owner, fabric.id, ['settings']);
      const vanilla = { plan: 'vanilla', maxInstances: 3, memoryMbMax: 4096, flavors: [], mods: false };
      const modded = { ...vanilla, plan: 'modded', mods: true };
      world.plans.plans.set(owner.id, vanilla);
      world.plans.plans.set(helper.id, modded);
      try {
        const res = await helper.http.post(`/api/servers/${fabric.id}/mods`, { projectId: 'appleskin' });
        expect(res.status, res.text).to.equal(403);
        expect(res.body.error.details).to.deep.equal({ plan: 'vanilla' });
        world.plans.plans.set(owner.id, modded);
        world.plans.plans.set(helper.id, vanilla);
        const allowed = await helper.http.post(`/api/servers/${fabric.id}/mods`, { projectId: 'appleskin' });
        expect(allowed.status, allowed.text).to.equal(202);
        await settle(helper, allowed.body.operation.id);
      } finally {
        world.plans.plans.delete(owner.id);
        world.plans.plans.delete(helper.id);
      }
    });

    it("answers 404 for another account's server", async () => {
      const stranger = await world.tk.user({ email: 'mods-stranger@zpack.test' });
      expect((await stranger.http.get(`/api/servers/${fabric.id}/mods`)).status).to.equal(404);
      expect((await stranger.http.post(`/api/servers/${fabric.id}/mods`, { projectId: 'appleskin' })).status).to.equal(404);
    });

    it('refuses mods on a vanilla server (409)', async () => {
      const vanilla = await server(owner, 'mods-vanilla', serverBody('vanilla'));
      const res = await owner.http.post(`/api/servers/${vanilla.id}/mods`, { projectId: 'lithium' });
      expect(res.status).to.equal(409);
      expect(res.body.error.details).to.include({ reason: 'flavor' });
    });
  });

  describe('plugins on a paper server', () => {
    let paper: { id: string; vmid: number };
    before(async () => {
      paper = await server(owner, 'mods-paper', serverBody('paper'));
    });

    it('installs plugins into plugins/ with their pinned dependency, and marks a stopped server as needing a restart', async () => {
      await owner.http.post(`/api/servers/${paper.id}/power`, { action: 'stop' });
      await waitFor(async () => (await owner.http.get(`/api/servers/${paper.id}`)).body.server.state === 'stopped', 'the server stopped');
      const op = await change(owner, await owner.http.post(`/api/servers/${paper.id}/mods`, { projectId: 'viabackwards' }));
      expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
      const list = (await owner.http.get(`/api/servers/${paper.id}/mods`)).body;
      expect(list.restartNeeded).to.equal(true);
      const proot = world.fleet.agents.rootOf(paper.vmid);
      expect(Object.keys(folder(proot, 'plugins')).sort()).to.deep.equal(['plugins/viabackwards-5.2.1.jar', 'plugins/viaversion-5.2.1.jar']);
      expect(list.mods.map((m: any) => m.loader)).to.deep.equal(['paper', 'paper']);
    });

    it('refuses a plugin declared incompatible with one installed', async () => {
      await change(owner, await owner.http.post(`/api/servers/${paper.id}/mods`, { projectId: 'essentialsx' }));
      const res = await owner.http.post(`/api/servers/${paper.id}/mods`, { projectId: 'cmi-lite' });
      expect(res.status).to.equal(409);
      expect(res.body.error.message).to.equal('CMI Lite is incompatible with EssentialsX');
    });
  });

  it('validates bodies: unknown fields, both enabled:false and a version, bad ids', async () => {
    expect((await owner.http.post(`/api/servers/${fabric.id}/mods`, { projectId: 'lithium', extra: 1 })).status).to.equal(400);
    expect((await owner.http.post(`/api/servers/${fabric.id}/mods`, { projectId: '../../etc' })).status).to.equal(400);
    const any = (await mods()).mods[0];
    expect((await owner.http.patch(`/api/servers/${fabric.id}/mods/${any.id}`, {})).status).to.equal(400);
    expect((await owner.http.patch(`/api/servers/${fabric.id}/mods/${any.id}`, { enabled: false, versionId: 'abc' })).status).to.equal(400);
    expect((await owner.http.delete(`/api/servers/${fabric.id}/mods/00000000-0000-4000-8000-000000000000`)).status).to.equal(404);
    const unknown = await owner.http.post(`/api/servers/${fabric.id}/mods`, { projectId: 'no-such-mod' });
    expect(unknown.status).to.equal(404);
    await settle(owner, (await owner.http.get('/api/operations?limit=1')).body.operations[0].id);
  });
});
