import { cp, lstat, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { SimAnswer, SimRequest, SimRoute } from './routes';
import { DEFAULT_UNPACK_LIMITS, UnsafeArchive, formatOf, pack, unpack } from './archives';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
const exists = (abs: string) => lstat(abs).then(() => true, () => false);

/** Confines each named path, or answers the refusal of the first that escapes. */
async function confined(req: SimRequest, names: string[]): Promise<string[] | SimAnswer> {
  const out: string[] = [];
  for (const name of names) {
    const abs = await req.container.disk.confine(name.replace(/^\/+/, ''));
    if (!abs) return { status: 400, body: { error: 'invalid_path', path: name } };
    out.push(abs);
  }
  return out;
}
const refused = (v: string[] | SimAnswer): v is SimAnswer => !Array.isArray(v);

function jsonRoute(path: string, handle: (body: Record<string, unknown>, req: SimRequest) => Promise<SimAnswer>): SimRoute {
  return {
    method: 'POST', path,
    async handle(req) {
      if (!isObject(req.body)) return { status: 400, body: { error: 'invalid_body' } };
      try {
        return await handle(req.body, req);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return { status: 404, body: { error: 'not_found' } };
        if (code === 'EEXIST') return { status: 409, body: { error: 'already_exists' } };
        throw err;
      }
    },
  };
}

/** A name beside `abs` that is free: `world copy`, `world copy 2` … */
async function freeCopyName(abs: string): Promise<string> {
  const ext = extname(abs);
  const stem = basename(abs, ext);
  for (let n = 1; ; n++) {
    const candidate = join(dirname(abs), `${stem} copy${n === 1 ? '' : ` ${n}`}${ext}`);
    if (!(await exists(candidate))) return candidate;
  }
}

/** Rename, copy, make folder, delete many, compress and decompress (zip-slip and zip-bomb refused). */
export const fileOpRoutes: readonly SimRoute[] = [
  jsonRoute('/files/rename', async (body, req) => {
    if (typeof body.from !== 'string' || typeof body.to !== 'string') return { status: 400, body: { error: 'invalid_body' } };
    const paths = await confined(req, [body.from, body.to]);
    if (refused(paths)) return paths;
    const [from, to] = paths;
    if (from === req.container.disk.root || to === req.container.disk.root) return { status: 400, body: { error: 'invalid_path', path: '/' } };
    await lstat(from);
    if (await exists(to)) return { status: 409, body: { error: 'already_exists', path: req.container.disk.relativeName(to) } };
    await mkdir(dirname(to), { recursive: true });
    await rename(from, to);
    return { status: 200, body: { from: req.container.disk.relativeName(from), to: req.container.disk.relativeName(to) } };
  }),
  jsonRoute('/files/copy', async (body, req) => {
    if (typeof body.path !== 'string') return { status: 400, body: { error: 'invalid_body' } };
    const paths = await confined(req, [body.path]);
    if (refused(paths)) return paths;
    if (paths[0] === req.container.disk.root) return { status: 400, body: { error: 'invalid_path', path: '/' } };
    await lstat(paths[0]);
    const target = await freeCopyName(paths[0]);
    await cp(paths[0], target, { recursive: true, errorOnExist: true, force: false, verbatimSymlinks: true });
    return { status: 201, body: { path: req.container.disk.relativeName(target) } };
  }),
  jsonRoute('/files/mkdir', async (body, req) => {
    if (typeof body.path !== 'string') return { status: 400, body: { error: 'invalid_body' } };
    const paths = await confined(req, [body.path]);
    if (refused(paths)) return paths;
    if (await exists(paths[0])) return { status: 409, body: { error: 'already_exists', path: req.container.disk.relativeName(paths[0]) } };
    await mkdir(paths[0], { recursive: true });
    return { status: 201, body: { path: req.container.disk.relativeName(paths[0]) } };
  }),
  jsonRoute('/files/delete', async (body, req) => {
    if (!strings(body.paths) || body.paths.length === 0) return { status: 400, body: { error: 'invalid_body' } };
    const paths = await confined(req, body.paths);
    if (refused(paths)) return paths;
    if (paths.includes(req.container.disk.root)) return { status: 400, body: { error: 'cannot_delete_root', path: '/' } };
    const deleted: string[] = [];
    const missing: string[] = [];
    for (const abs of paths) {
      const rel = req.container.disk.relativeName(abs);
      if (await exists(abs)) {
        await rm(abs, { recursive: true });
        deleted.push(rel);
      } else missing.push(rel);
    }
    return { status: 200, body: { deleted, missing } };
  }),
  jsonRoute('/files/compress', async (body, req) => {
    if (!strings(body.paths) || body.paths.length === 0 || typeof body.archive !== 'string') return { status: 400, body: { error: 'invalid_body' } };
    const format = formatOf(body.archive);
    if (!format) return { status: 400, body: { error: 'unsupported_archive', path: body.archive } };
    const paths = await confined(req, [...body.paths, body.archive]);
    if (refused(paths)) return paths;
    const archive = paths.pop()!;
    if (await exists(archive)) return { status: 409, body: { error: 'already_exists', path: req.container.disk.relativeName(archive) } };
    for (const abs of paths) await lstat(abs);
    const staged = req.container.disk.stagingPath('compress');
    try {
      await pack(req.container.disk.root, paths, staged, format);
      await mkdir(dirname(archive), { recursive: true });
      await rename(staged, archive);
    } finally {
      await rm(staged, { force: true });
    }
    return { status: 201, body: { path: req.container.disk.relativeName(archive), sizeBytes: (await stat(archive)).size } };
  }),
  jsonRoute('/files/decompress', async (body, req) => {
    if (typeof body.path !== 'string') return { status: 400, body: { error: 'invalid_body' } };
    const format = formatOf(body.path);
    if (!format) return { status: 400, body: { error: 'unsupported_archive', path: body.path } };
    const paths = await confined(req, [body.path]);
    if (refused(paths)) return paths;
    const archive = paths[0];
    await lstat(archive);
    // Unpacked beside the server folder first: a refused archive leaves nothing behind, a good one moves in.
    const staging = req.container.disk.stagingPath('decompress');
    await mkdir(staging);
    try {
      await unpack(archive, format, staging, req.container.unpackLimits ?? DEFAULT_UNPACK_LIMITS);
      const into = dirname(archive);
      const moved: string[] = [];
      for (const name of await readdir(staging)) {
        const target = join(into, name);
        if (await exists(target)) return { status: 409, body: { error: 'already_exists', path: req.container.disk.relativeName(target) } };
        moved.push(name);
      }
      for (const name of moved) await rename(join(staging, name), join(into, name));
      return { status: 200, body: { path: req.container.disk.relativeName(archive), extracted: moved.map((n) => req.container.disk.relativeName(join(into, n))) } };
    } catch (err) {
      if (err instanceof UnsafeArchive) return { status: 400, body: { error: err.code, entry: err.entry ?? null } };
      throw err;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }),
];
