import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Context, Next } from 'koa';

/** Where `npm run build` puts the operator console (vite, see web/admin). */
export const ADMIN_CONSOLE_DIR = path.resolve(__dirname, '..', '..', '..', 'web', 'admin');
const PREFIX = '/admin';
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json', '.woff2': 'font/woff2',
};
/** The page only talks to this API (and its console WebSockets); nothing inline but styles (xterm sets them). */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const decoded = (text: string): string | null => {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
};

interface Held {
  bytes: Buffer;
  mtimeMs: number;
  size: number;
}

/**
 * Serves the operator console's static build at /admin (index.html for /admin and /admin/).
 * Hashed assets are cached for good; the page itself never, so a deploy shows at once.
 * The console holds no data: everything it shows comes from the API with the operator's session.
 *
 * The build is a few hundred KB, so its files are held in memory once read: a hashed asset never
 * changes under its name and is served without touching the disk again; any other file (the page)
 * is checked with one stat and read again when it changed. Each file-system call is a trip through
 * libuv's thread pool, which on a busy machine cost more than the rest of the answer.
 */
export function adminConsole(root = ADMIN_CONSOLE_DIR) {
  const held = new Map<string, Held>();
  return async (ctx: Context, next: Next) => {
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || (ctx.path !== PREFIX && !ctx.path.startsWith(`${PREFIX}/`))) return next();
    if (ctx.path === PREFIX) return ctx.redirect(`${PREFIX}/`);
    const relative = ctx.path === `${PREFIX}/` ? 'index.html' : decoded(ctx.path.slice(PREFIX.length + 1));
    const file = path.resolve(root, relative ?? '');
    if (!relative || !file.startsWith(root + path.sep) || relative.includes('\0')) return next();
    const immutable = relative.startsWith('assets/');
    let entry = immutable ? held.get(file) : undefined;
    if (!entry) {
      const info = await stat(file).catch(() => null);
      if (!info?.isFile()) {
        held.delete(file);
        return next();
      }
      entry = held.get(file);
      if (!entry || entry.mtimeMs !== info.mtimeMs || entry.size !== info.size) {
        const bytes = await readFile(file).catch(() => null);
        if (!bytes) return next();
        entry = { bytes, mtimeMs: info.mtimeMs, size: info.size };
        held.set(file, entry);
      }
    }
    ctx._matchedRoute = `${PREFIX}/*`;
    ctx.type = TYPES[path.extname(file)] ?? 'application/octet-stream';
    ctx.set('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    ctx.set('Content-Security-Policy', CSP);
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Referrer-Policy', 'no-referrer');
    // koa answers HEAD with the headers of this body, without it.
    ctx.body = entry.bytes;
  };
}
