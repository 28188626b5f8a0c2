import { expect } from 'chai';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { TestUser } from '../harness';
import { gameServer, type GameServer } from '../files/api-fixture';
import { useFleetKernel } from '../provisioning/fixture';
import { tarGz, zip } from './archive-corpus';

const exists = (p: string) => stat(p).then(() => true, () => false);

/** Every path under `dir`, relative, sorted: what a refused archive must leave exactly as it was. */
async function tree(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = `${prefix}${entry.name}`;
    out.push(rel);
    if (entry.isDirectory()) out.push(...(await tree(join(dir, entry.name), `${rel}/`)));
  }
  return out.sort();
}

describe('File operations: rename, copy, mkdir, delete many, compress and decompress', function () {
  this.timeout(60_000);
  const env = useFleetKernel();
  let owner: TestUser;
  let server: GameServer;
  let root: string;
  const op = (name: string, body: unknown) => owner.http.post(`/api/servers/${server.id}/files/${name}`, body);

  before(async () => {
    owner = await env.tk.user();
    server = await gameServer(owner, 'file-ops');
    root = env.fleet.agents.rootOf(server.vmid);
  });

  it('renames and moves; onto an existing path is 409 and changes nothing; out of the root is 400', async () => {
    await writeFile(join(root, 'a.txt'), 'a');
    expect((await op('rename', { from: '/a.txt', to: 'notes/b.txt' })).body).to.deep.equal({ from: 'a.txt', to: 'notes/b.txt' });
    expect(await readFile(join(root, 'notes/b.txt'), 'utf8')).to.equal('a');
    const clash = await op('rename', { from: 'notes/b.txt', to: 'server.properties' });
    expect(clash.status).to.equal(409);
    expect(clash.body.error.code).to.equal('already_exists');
    expect(await readFile(join(root, 'server.properties'), 'utf8')).to.match(/^motd=/);
    expect((await op('rename', { from: 'notes/b.txt', to: '../b.txt' })).status).to.equal(400);
    expect((await op('rename', { from: 'missing.txt', to: 'x.txt' })).status).to.equal(404);
  });

  it('copies beside the original, makes folders (409 when one exists), deletes many paths in one call', async () => {
    expect((await op('copy', { path: 'server.properties' })).body).to.deep.equal({ path: 'server copy.properties' });
    expect((await op('copy', { path: 'server.properties' })).body).to.deep.equal({ path: 'server copy 2.properties' });
    expect((await op('mkdir', { path: 'plugins/config' })).status).to.equal(201);
    expect((await op('mkdir', { path: 'plugins/config' })).status).to.equal(409);
    const deleted = await op('delete', { paths: ['server copy.properties', '/server copy 2.properties', 'plugins', 'never-was'] });
    expect(deleted.body).to.deep.equal({ deleted: ['server copy.properties', 'server copy 2.properties', 'plugins'], missing: ['never-was'] });
    expect(await exists(join(root, 'plugins'))).to.equal(false);
    expect((await op('delete', { paths: ['/'] })).status).to.equal(400);
    expect((await op('delete', { paths: ['world', '../outside'] })).status).to.equal(400);
    expect(await exists(join(root, 'world'))).to.equal(true);
  });

  for (const archive of ['world.tar.gz', 'world.zip']) {
    it(`compresses a selection to ${archive} and decompresses it in place, byte for byte`, async () => {
      const made = await op('compress', { paths: ['world', 'server.properties'], archive: `restore/${archive}` });
      expect(made.status, made.text).to.equal(201);
      expect(made.body.sizeBytes).to.be.above(0);
      expect((await op('compress', { paths: ['world'], archive: `restore/${archive}` })).status).to.equal(409);
      const unpacked = await op('decompress', { path: `restore/${archive}` });
      expect(unpacked.status, unpacked.text).to.equal(200);
      expect(unpacked.body.extracted.sort()).to.deep.equal(['restore/server.properties', 'restore/world']);
      expect(await readFile(join(root, 'restore/world/region/r.0.0.mca'), 'utf8')).to.equal(await readFile(join(root, 'world/region/r.0.0.mca'), 'utf8'));
      expect((await op('decompress', { path: `restore/${archive}` })).status).to.equal(409);
      await op('delete', { paths: ['restore'] });
    });
  }

  describe('a hostile archive is refused whole (400) and nothing is written inside or outside the folder', () => {
    const MiB = 1024 * 1024;
    const corpus: Array<{ name: string; bytes: () => Buffer; code: string }> = [
      { name: 'dotdot.tar.gz', bytes: () => tarGz([{ name: 'ok.txt', data: Buffer.from('fine') }, { name: '../escaped.txt', data: Buffer.from('out') }]), code: 'unsafe_entry' },
      { name: 'deep-dotdot.tar.gz', bytes: () => tarGz([{ name: 'world/../../escaped.txt', data: Buffer.from('out') }]), code: 'unsafe_entry' },
      { name: 'absolute.tar.gz', bytes: () => tarGz([{ name: '/tmp/escaped.txt', data: Buffer.from('out') }]), code: 'unsafe_entry' },
      { name: 'symlink.tar.gz', bytes: () => tarGz([{ name: 'link', type: '2', linkname: '/etc' }, { name: 'link/escaped.txt', data: Buffer.from('out') }]), code: 'unsafe_entry' },
      { name: 'hardlink.tar.gz', bytes: () => tarGz([{ name: 'hard', type: '1' as never, linkname: '../../etc/passwd' }]), code: 'unsafe_entry' },
      { name: 'ten-gigabytes.tar.gz', bytes: () => tarGz([{ name: 'zeros.bin', declaredSize: 10 * 1024 ** 3, data: Buffer.alloc(512) }]), code: 'unpack_too_large' },
      { name: 'zeros.tar.gz', bytes: () => tarGz([{ name: 'zeros.bin', data: Buffer.alloc(3 * MiB) }]), code: 'unpack_too_large' },
      { name: 'many.tar.gz', bytes: () => tarGz(Array.from({ length: 60 }, (_, i) => ({ name: `f${i}.txt`, data: Buffer.from('x') }))), code: 'too_many_entries' },
      { name: 'dotdot.zip', bytes: () => zip([{ name: 'ok.txt', data: Buffer.from('fine') }, { name: '../escaped.txt', data: Buffer.from('out') }]), code: 'unsafe_entry' },
      { name: 'absolute.zip', bytes: () => zip([{ name: '/tmp/escaped.txt', data: Buffer.from('out') }]), code: 'unsafe_entry' },
      { name: 'backslash.zip', bytes: () => zip([{ name: '..\\escaped.txt', data: Buffer.from('out') }]), code: 'unsafe_entry' },
      { name: 'symlink.zip', bytes: () => zip([{ name: 'link', data: Buffer.from('/etc'), symlink: true }]), code: 'unsafe_entry' },
      { name: 'zeros.zip', bytes: () => zip([{ name: 'zeros.bin', data: Buffer.alloc(3 * MiB) }]), code: 'unpack_too_large' },
      { name: 'many.zip', bytes: () => zip(Array.from({ length: 60 }, (_, i) => ({ name: `f${i}.txt`, data: Buffer.from('x') }))), code: 'too_many_entries' },
      { name: 'garbage.zip', bytes: () => Buffer.from('PK but not really a zip'), code: 'bad_archive' },
    ];

    before(() => env.fleet.agents.setUnpackLimits(server.vmid, { maxBytes: 2 * MiB, maxEntries: 50 }));

    for (const sample of corpus) {
      it(`${sample.name} → 400 ${sample.code}`, async () => {
        const at = join(root, 'uploads', sample.name);
        await mkdir(dirname(at), { recursive: true });
        await writeFile(at, sample.bytes());
        const before = await tree(root);
        const outside = await readdir(dirname(root));
        const res = await op('decompress', { path: `uploads/${sample.name}` });
        expect(res.status, res.text).to.equal(400);
        expect(res.body.error.code).to.equal(sample.code);
        expect(await tree(root)).to.deep.equal(before);
        expect(await readdir(dirname(root))).to.deep.equal(outside);
        expect(await exists('/tmp/escaped.txt')).to.equal(false);
      });
    }
  });
});
