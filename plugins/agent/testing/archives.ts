import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir } from 'node:fs/promises';
import { dirname, join, posix, relative } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import * as tar from 'tar-stream';
import * as yauzl from 'yauzl';
import * as yazl from 'yazl';

/** What one decompress may unpack: past either, the archive is refused and nothing is kept. */
export interface UnpackLimits {
  maxBytes: number;
  maxEntries: number;
}
export const DEFAULT_UNPACK_LIMITS: UnpackLimits = { maxBytes: 256 * 1024 * 1024, maxEntries: 10_000 };

/** Why an archive is refused; the route answers 400 with the code. */
export class UnsafeArchive extends Error {
  constructor(readonly code: 'unsafe_entry' | 'unpack_too_large' | 'too_many_entries' | 'bad_archive', readonly entry?: string) {
    super(`${code}${entry ? `: ${entry}` : ''}`);
  }
}

export type ArchiveFormat = 'tar.gz' | 'zip';
export const formatOf = (name: string): ArchiveFormat | undefined =>
  /\.(tar\.gz|tgz)$/i.test(name) ? 'tar.gz' : /\.zip$/i.test(name) ? 'zip' : undefined;

/**
 * An entry name that stays inside the destination: relative, no `..` segment, no backslash, NUL
 * or drive letter. Zip-slip is refused whole, not skipped, so an archive never half-unpacks.
 */
export function safeEntryName(name: string): string {
  if (!name || name.includes('\0') || name.includes('\\') || name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw new UnsafeArchive('unsafe_entry', name);
  const normal = posix.normalize(name);
  if (normal === '..' || normal.startsWith('../') || normal.split('/').includes('..')) throw new UnsafeArchive('unsafe_entry', name);
  return normal.replace(/\/$/, '');
}

/** Counts what is really unpacked (declared sizes can lie) and stops past the limit. */
class Budget {
  private bytes = 0;
  private entries = 0;
  constructor(private readonly limits: UnpackLimits) {}
  entry(declaredSize: number): void {
    if (++this.entries > this.limits.maxEntries) throw new UnsafeArchive('too_many_entries');
    if (this.bytes + declaredSize > this.limits.maxBytes) throw new UnsafeArchive('unpack_too_large');
  }
  meter(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc, done) => {
        this.bytes += chunk.length;
        done(this.bytes > this.limits.maxBytes ? new UnsafeArchive('unpack_too_large') : null, chunk);
      },
    });
  }
}

/** Unpacks `archive` into the empty folder `dest`; throws UnsafeArchive (dest then holds a partial tree for the caller to drop). */
export async function unpack(archive: string, format: ArchiveFormat, dest: string, limits: UnpackLimits): Promise<void> {
  const budget = new Budget(limits);
  if (format === 'tar.gz') await untar(archive, dest, budget);
  else await unzip(archive, dest, budget);
}

async function untar(archive: string, dest: string, budget: Budget): Promise<void> {
  const extract = tar.extract();
  const done = (async () => {
    for await (const entry of extract) {
      const { name, type, size } = entry.header;
      const rel = safeEntryName(name);
      if (type !== 'file' && type !== 'directory') throw new UnsafeArchive('unsafe_entry', name);
      budget.entry(size ?? 0);
      const abs = join(dest, rel);
      if (type === 'directory' || rel === '') {
        await mkdir(abs, { recursive: true });
        entry.resume();
        continue;
      }
      await mkdir(dirname(abs), { recursive: true });
      await pipeline(entry, budget.meter(), createWriteStream(abs, { flags: 'wx' }));
    }
  })();
  try {
    await Promise.all([pipeline(createReadStream(archive), createGunzip(), extract), done]);
  } catch (err) {
    extract.destroy();
    throw err instanceof UnsafeArchive ? err : new UnsafeArchive('bad_archive');
  }
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

async function unzip(archive: string, dest: string, budget: Budget): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(archive, { lazyEntries: true, strictFileNames: true, validateEntrySizes: true }, (err, z) => (err ? reject(new UnsafeArchive('bad_archive')) : resolve(z!))));
  try {
    for (;;) {
      const entry = await nextEntry(zip).catch((err) => { throw err instanceof UnsafeArchive ? err : new UnsafeArchive('unsafe_entry', String((err as Error).message)); });
      if (!entry) return;
      const rel = safeEntryName(entry.fileName);
      if (((entry.externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK) throw new UnsafeArchive('unsafe_entry', entry.fileName);
      budget.entry(entry.uncompressedSize);
      const abs = join(dest, rel);
      if (entry.fileName.endsWith('/')) {
        await mkdir(abs, { recursive: true });
        continue;
      }
      await mkdir(dirname(abs), { recursive: true });
      const stream = await new Promise<Readable>((resolve, reject) => zip.openReadStream(entry, (err, s) => (err ? reject(err) : resolve(s!))));
      await pipeline(stream, budget.meter(), createWriteStream(abs, { flags: 'wx' }));
    }
  } catch (err) {
    throw err instanceof UnsafeArchive ? err : new UnsafeArchive('bad_archive');
  } finally {
    zip.close();
  }
}

/** The next entry of a lazily read zip, or null at its end; yauzl's own name checks fail as an unsafe entry. */
function nextEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | null> {
  return new Promise((resolve, reject) => {
    const done = () => zip.off('entry', onEntry).off('end', onEnd).off('error', onError);
    const onEntry = (entry: yauzl.Entry) => { done(); resolve(entry); };
    const onEnd = () => { done(); resolve(null); };
    const onError = (err: Error) => { done(); reject(err); };
    zip.on('entry', onEntry).on('end', onEnd).on('error', onError);
    zip.readEntry();
  });
}

/** Every regular file and folder under `abs`, named relative to `root`; symlinks are left out. */
async function walk(root: string, abs: string, out: Array<{ abs: string; name: string; dir: boolean }>): Promise<void> {
  const info = await lstat(abs);
  const name = relative(root, abs).split('\\').join('/');
  if (info.isSymbolicLink()) return;
  if (info.isDirectory()) {
    if (name) out.push({ abs, name, dir: true });
    for (const child of await readdir(abs)) await walk(root, join(abs, child), out);
  } else if (info.isFile()) out.push({ abs, name, dir: false });
}

/** Packs `paths` (absolute, inside `root`) into `archive`, names relative to `root`. */
export async function pack(root: string, paths: string[], archive: string, format: ArchiveFormat): Promise<void> {
  const entries: Array<{ abs: string; name: string; dir: boolean }> = [];
  for (const p of paths) await walk(root, p, entries);
  if (format === 'zip') {
    const zip = new yazl.ZipFile();
    for (const e of entries) {
      if (e.dir) zip.addEmptyDirectory(e.name);
      else zip.addReadStream(createReadStream(e.abs), e.name);
    }
    zip.end();
    await pipeline(zip.outputStream, createWriteStream(archive));
    return;
  }
  const packer = tar.pack();
  const writing = pipeline(packer, createGzip(), createWriteStream(archive));
  for (const e of entries) {
    if (e.dir) {
      packer.entry({ name: e.name, type: 'directory' });
      continue;
    }
    const size = (await lstat(e.abs)).size;
    await new Promise<void>((resolve, reject) => {
      const sink = packer.entry({ name: e.name, size, type: 'file' }, (err) => (err ? reject(err) : resolve()));
      createReadStream(e.abs).on('error', reject).pipe(sink);
    });
  }
  packer.finalize();
  await writing;
}
