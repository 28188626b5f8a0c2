import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, realpath, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** What a fresh Minecraft server folder holds, enough to browse, edit, back up and restore. */
const SEED: ReadonlyArray<[string, string]> = [
  ['server.properties', 'motd=A zpack server\nmax-players=20\nonline-mode=true\nserver-port=25565\n'],
  ['eula.txt', 'eula=true\n'],
  ['world/level.dat', 'simulated level data\n'],
  ['world/region/r.0.0.mca', 'simulated region data\n'],
  ['logs/latest.log', '[00:00:00] [Server thread/INFO]: Starting minecraft server version 1.21.4\n'],
];

/**
 * One container's disk: the server folder the agent serves, plus its own bookkeeping beside it
 * (previous versions, backup archives, staging), out of reach of file routes and of backups.
 */
export class SimDisk {
  readonly root: string;
  readonly backupsDir: string;
  private readonly versionsDir: string;
  private readonly stagingDir: string;

  constructor(private readonly dir: string) {
    this.root = join(dir, 'server');
    this.backupsDir = join(dir, 'backups');
    this.versionsDir = join(dir, 'versions');
    this.stagingDir = join(dir, 'staging');
  }

  /** Creates the layout and seeds the server folder; a second provision keeps the files as they are. */
  async seed(): Promise<void> {
    const fresh = await stat(this.root).then(() => false, () => true);
    await Promise.all([this.backupsDir, this.versionsDir, this.stagingDir].map((d) => mkdir(d, { recursive: true })));
    if (!fresh) return;
    for (const [path, content] of SEED) {
      await mkdir(dirname(join(this.root, path)), { recursive: true });
      await writeFile(join(this.root, path), content);
    }
  }

  /**
   * The absolute path of `rel` inside the server folder, or undefined if it escapes: `..`,
   * absolute paths, NUL, backslashes, or a symlink leading out. The kernel already refuses these;
   * the agent refuses them again so one bug is not a breach.
   */
  async confine(rel: string): Promise<string | undefined> {
    if (rel.includes('\0') || rel.includes('\\') || isAbsolute(rel)) return undefined;
    const target = resolve(this.root, rel);
    if (!isInside(this.root, target)) return undefined;
    const realRoot = await realpath(this.root);
    return isInside(realRoot, await realpathOfNearest(target)) ? target : undefined;
  }

  /** The root-relative, slash-separated name the wire uses. */
  relativeName(abs: string): string {
    return relative(this.root, abs).split(sep).join('/');
  }

  /** Where the previous version of a file is kept: one per path, named by hash so any path fits. */
  versionOf(abs: string): string {
    return join(this.versionsDir, createHash('sha256').update(this.relativeName(abs)).digest('hex'));
  }

  /** A fresh staging path on the same filesystem, so moving it into place is an atomic rename. */
  stagingPath(label: string): string {
    return join(this.stagingDir, `${label}-${randomUUID()}`);
  }

  /** A named file in staging (downloads waiting to be applied). */
  stagingFile(name: string): string {
    return join(this.stagingDir, name);
  }

  /** Streams a body into staging without buffering it; an interrupted body leaves nothing behind. */
  async stage(body: Readable): Promise<string> {
    const staged = this.stagingPath('upload');
    try {
      await pipeline(body, createWriteStream(staged));
    } catch (err) {
      await unlink(staged).catch(() => undefined);
      throw err;
    }
    return staged;
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

function isInside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** realpath of the deepest existing ancestor: the target itself may not exist yet (an upload). */
async function realpathOfNearest(target: string): Promise<string> {
  let current = target;
  for (;;) {
    try {
      return join(await realpath(current), relative(current, target));
    } catch {
      const parent = dirname(current);
      if (parent === current) return target;
      current = parent;
    }
  }
}
