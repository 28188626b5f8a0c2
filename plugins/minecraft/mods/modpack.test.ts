import { expect } from 'chai';
import { strToU8, zipSync } from 'fflate';
import { ModCatalog, VetoError } from '../../../kernel/api';
import type { PluginContext, ProvisionPlan } from '../../../kernel/api';
import { INDEX_MAX_BYTES, Modpacks, confinedPackPath } from './modpack';
import { ModService } from './service';

describe('modpack entry paths (confinedPackPath)', () => {
  for (const ok of ['mods/sodium.jar', 'config/lithium.properties', 'resourcepacks/a b.zip', 'mods/..hidden.jar']) {
    it(`keeps ${JSON.stringify(ok)}`, () => expect(confinedPackPath(ok)).to.equal(true));
  }
  for (const bad of ['../x.jar', 'mods/../../x.jar', '/etc/passwd', 'C:/Windows/x.dll', 'c:x', 'mods\\..\\x.jar', 'mods/x\0.jar', '', 'mods//x.jar', './mods/x.jar', 'mods/.', 'x'.repeat(513)]) {
    it(`refuses ${JSON.stringify(bad.slice(0, 40))}`, () => expect(confinedPackPath(bad)).to.equal(false));
  }
});

/** A catalog holding one modpack whose .mrpack is `archive`; Modpacks.plan reads nothing else. */
function packWorld(archive: Uint8Array): { modpacks: Modpacks; plan: () => Promise<ProvisionPlan> } {
  const catalog = {
    source: 'test',
    project: async () => ({ id: 'pack', projectType: 'modpack', title: 'Pack' }),
    version: async () => ({ id: 'v1', projectId: 'pack', versionNumber: '1.0', files: [{ primary: true, filename: 'pack.mrpack', url: 'https://cdn.test/pack.mrpack', size: archive.length, hashes: { sha512: 'x', sha1: 'x' } }] }),
    fetchFile: async () => Buffer.from(archive),
  };
  const ctx = { name: 'minecraft', resolveAll: (port: unknown) => (port === ModCatalog ? [catalog] : []) } as unknown as PluginContext<unknown>;
  const ds = () => { throw new Error('not used'); };
  const modpacks = new Modpacks(ctx, new ModService(ctx, ds), ds);
  const account = { id: '00000000-0000-4000-8000-000000000001', email: 'a@zpack.test', role: 'user' as const, billingExempt: false };
  const base: ProvisionPlan = { account, kind: 'game', type: 'minecraft', name: 'Packed', options: {}, portNeeds: [], agentPayload: {} };
  return { modpacks, plan: () => modpacks.plan(base, { projectId: 'pack', versionId: 'v1' }, { version: '1.21.4', flavor: 'fabric' }) };
}

const indexOf = (extra: Record<string, unknown> = {}) => strToU8(JSON.stringify({
  formatVersion: 1, game: 'minecraft', versionId: '1.0', name: 'Pack', files: [], dependencies: { minecraft: '1.21.4', 'fabric-loader': '0.16.9' }, ...extra,
}));

/** Overwrites the compressed bytes of `name` in a zip with ones no inflater accepts (block type 3). */
function corrupt(zip: Uint8Array, name: string): Uint8Array {
  const out = Uint8Array.from(zip);
  const view = new DataView(out.buffer);
  const encoded = Buffer.from(name);
  for (let at = 0; at < out.length - 30; at++) {
    if (view.getUint32(at, true) !== 0x04034b50 || !Buffer.from(out.subarray(at + 30, at + 30 + encoded.length)).equals(encoded)) continue;
    const data = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
    out.fill(0xff, data, data + view.getUint32(at + 18, true));
  }
  return out;
}

describe('modpack archives (Modpacks.plan): read as untrusted input', () => {
  it('inflates only the index (an override, as big as its header claims, is the agent\'s to unpack): one that would not inflate leaves the plan going on', async () => {
    const zip = zipSync({ 'modrinth.index.json': indexOf(), 'overrides/world/region.mca': new Uint8Array(4096).fill(7) });
    const { plan } = packWorld(corrupt(zip, 'overrides/world/region.mca'));
    const planned = await plan();
    expect((planned.agentPayload.modpack as { archive: { url: string } }).archive.url).to.equal('https://cdn.test/pack.mrpack');
  });

  it('still refuses an override path that escapes the server root, without inflating it', async () => {
    const { plan } = packWorld(zipSync({ 'modrinth.index.json': indexOf(), 'overrides/../../etc/cron.d/x': strToU8('* * * * * root sh') }));
    const err = await plan().then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(VetoError).and.to.include({ code: 'modpack_unsafe', status: 422 });
  });

  for (const [what, archive] of [
    ['an index that is not JSON', zipSync({ 'modrinth.index.json': strToU8('{"formatVersion": 1,') })],
    [`an index larger than ${INDEX_MAX_BYTES} bytes`, zipSync({ 'modrinth.index.json': indexOf({ summary: ' '.repeat(INDEX_MAX_BYTES) }) })],
    ['an archive that is not a zip', strToU8('PK but not really a zip archive')],
    ['an archive without an index', zipSync({ 'overrides/a.txt': strToU8('a') })],
  ] as const) {
    it(`refuses ${what} with 422 modpack_invalid`, async () => {
      const err = await packWorld(archive).plan().then(() => null, (e: unknown) => e);
      expect(err, String(err)).to.be.instanceOf(VetoError).and.to.include({ code: 'modpack_invalid', status: 422 });
    });
  }
});
