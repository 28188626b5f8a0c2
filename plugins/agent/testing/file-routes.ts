import { createReadStream, type Stats } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { SimAnswer, SimRequest, SimRoute } from './routes';
import type { SimDisk } from './sim-disk';

/** Above this, reading a file as text is refused: the editor is not a download tool. */
export const TEXT_READ_LIMIT_BYTES = 2 * 1024 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A confined path, or the answer refusing it. */
type Target = { abs: string; rel: string } | { refused: SimAnswer };

async function target(req: SimRequest): Promise<Target> {
  const rel = req.query.get('path') ?? '';
  const abs = await req.container.disk.confine(rel);
  if (!abs) return { refused: { status: 400, body: { error: 'invalid_path', path: rel } } };
  return { abs, rel: req.container.disk.relativeName(abs) };
}

/** Runs `act` on a confined path, answering 400 for escapes and 404 for what does not exist. */
function onPath(act: (abs: string, rel: string, req: SimRequest) => Promise<SimAnswer>) {
  return async (req: SimRequest): Promise<SimAnswer> => {
    const t = await target(req);
    if ('refused' in t) return t.refused;
    try {
      return await act(t.abs, t.rel, req);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { status: 404, body: { error: 'not_found', path: t.rel } };
      if (code === 'EISDIR') return { status: 400, body: { error: 'is_a_directory', path: t.rel } };
      throw err;
    }
  };
}

const fileView = (disk: SimDisk, abs: string, info: Stats) => ({
  name: basename(disk.relativeName(abs)),
  path: disk.relativeName(abs),
  type: info.isDirectory() ? 'dir' : 'file',
  sizeBytes: info.isDirectory() ? 0 : info.size,
  modifiedAt: info.mtime.toISOString(),
});

async function list(abs: string, rel: string, { container }: SimRequest): Promise<SimAnswer> {
  const info = await stat(abs);
  if (!info.isDirectory()) return { status: 400, body: { error: 'not_a_directory', path: rel } };
  const names = await readdir(abs);
  // An entry that vanishes between readdir and stat is simply not listed.
  const entries = (await Promise.all(names.map(async (name) => {
    const child = join(abs, name);
    return stat(child).then((s) => fileView(container.disk, child, s), () => undefined);
  }))).filter((e) => e !== undefined);
  entries.sort((a, b) => (a.type === b.type ? a.name.localeCompare(b.name) : a.type === 'dir' ? -1 : 1));
  return { status: 200, body: { path: rel, entries } };
}

async function readText(abs: string, rel: string): Promise<SimAnswer> {
  const info = await stat(abs);
  if (info.isDirectory()) return { status: 400, body: { error: 'is_a_directory', path: rel } };
  if (info.size > TEXT_READ_LIMIT_BYTES) {
    return { status: 413, body: { error: 'too_large', path: rel, sizeBytes: info.size, limitBytes: TEXT_READ_LIMIT_BYTES } };
  }
  const bytes = await readFile(abs);
  let content: string;
  try {
    if (bytes.includes(0)) throw new Error('NUL byte');
    content = utf8.decode(bytes);
  } catch {
    return { status: 415, body: { error: 'binary_file', path: rel } };
  }
  return { status: 200, body: { path: rel, content, sizeBytes: info.size, modifiedAt: info.mtime.toISOString() } };
}

async function download(abs: string, rel: string): Promise<SimAnswer> {
  const info = await stat(abs);
  if (info.isDirectory()) return { status: 400, body: { error: 'is_a_directory', path: rel } };
  const name = basename(abs);
  return {
    status: 200,
    headers: {
      'content-type': 'application/octet-stream',
      'content-length': String(info.size),
      'content-disposition': `attachment; filename="${name.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`,
    },
    stream: createReadStream(abs),
  };
}

/** Refuses the root and directories as the destination of a file body. */
async function refuseAsFileTarget(abs: string, rel: string): Promise<SimAnswer | undefined> {
  if (rel === '') return { status: 400, body: { error: 'is_a_directory', path: rel } };
  const existing = await stat(abs).catch(() => undefined);
  if (existing?.isDirectory()) return { status: 400, body: { error: 'is_a_directory', path: rel } };
  return undefined;
}

/** Streams the body to staging, then swaps it in; the replaced file becomes the previous version. */
async function write(abs: string, rel: string, { container, raw }: SimRequest): Promise<SimAnswer> {
  const refused = await refuseAsFileTarget(abs, rel);
  if (refused) return refused;
  const staged = await container.disk.stage(raw);
  await mkdir(dirname(abs), { recursive: true });
  const existing = await stat(abs).catch(() => undefined);
  if (existing) await rename(abs, container.disk.versionOf(abs));
  await rename(staged, abs);
  const info = await stat(abs);
  return { status: 200, body: { path: rel, sizeBytes: info.size, modifiedAt: info.mtime.toISOString() } };
}

/** Puts the previous version back; the version it replaces is kept, so a revert can be reverted. */
async function revert(abs: string, rel: string, { container }: SimRequest): Promise<SimAnswer> {
  const version = container.disk.versionOf(abs);
  if (!(await stat(version).catch(() => undefined))) return { status: 404, body: { error: 'no_previous_version', path: rel } };
  const current = await stat(abs).catch(() => undefined);
  if (current?.isDirectory()) return { status: 400, body: { error: 'is_a_directory', path: rel } };
  await mkdir(dirname(abs), { recursive: true });
  const parked = container.disk.stagingPath('revert');
  if (current) await rename(abs, parked);
  await rename(version, abs);
  if (current) await rename(parked, version);
  const info = await stat(abs);
  return { status: 200, body: { path: rel, sizeBytes: info.size, modifiedAt: info.mtime.toISOString() } };
}

async function upload(abs: string, rel: string, { container, raw }: SimRequest): Promise<SimAnswer> {
  const refused = await refuseAsFileTarget(abs, rel);
  if (refused) return refused;
  const staged = await container.disk.stage(raw);
  await mkdir(dirname(abs), { recursive: true });
  await rename(staged, abs);
  return { status: 201, body: { path: rel, sizeBytes: (await stat(abs)).size } };
}

async function remove(abs: string, rel: string): Promise<SimAnswer> {
  if (rel === '') return { status: 400, body: { error: 'cannot_delete_root', path: rel } };
  await lstat(abs);
  await rm(abs, { recursive: true });
  return { status: 204, body: '' };
}

/** Files under the server folder; `path` is a query parameter relative to it. */
export const fileRoutes: readonly SimRoute[] = [
  { method: 'GET', path: '/files', handle: onPath(list) },
  { method: 'GET', path: '/files/stat', handle: onPath(async (abs, _rel, req) => ({ status: 200, body: fileView(req.container.disk, abs, await stat(abs)) })) },
  { method: 'GET', path: '/files/content', handle: onPath(readText) },
  { method: 'GET', path: '/files/download', handle: onPath(download) },
  { method: 'PUT', path: '/files/content', streamsBody: true, handle: onPath(write) },
  { method: 'POST', path: '/files/revert', handle: onPath(revert) },
  { method: 'POST', path: '/files/upload', streamsBody: true, handle: onPath(upload) },
  { method: 'DELETE', path: '/files', handle: onPath(remove) },
];
