import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  dropConnection, LoopbackSimulator, parseJsonBody, readBoundedBody, sendSimulatorAnswer, SimulatorFaults,
  type SimulatorAnswer, type SimulatorRequestError,
} from '../../../kernel/api';
import { buildCatalog, type Catalog, type WireProject, type WireVersion } from './catalog';

export interface ModrinthSimulatorOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  latencyMs?: number;
}

/** Faults Modrinth has beyond the shared ones. */
export class ModrinthFaults extends SimulatorFaults {
  /** Next N file downloads serve bytes that do not match the catalog's hashes. */
  corruptDownloads = 0;
  /** Files (by name) always served with bytes that do not match their hashes. */
  readonly corruptFiles = new Set<string>();

  override clear(): void {
    super.clear();
    this.corruptDownloads = 0;
    this.corruptFiles.clear();
  }
}

export interface ModrinthRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  at: number;
}

const REQUEST_LOG_LIMIT = 1000;
/** Modrinth's published budget: 300 requests a minute per address. */
const RATE_LIMIT = 300;

const failure = (status: number, error: string, description: string, headers?: Record<string, string>): SimulatorAnswer =>
  ({ status, headers, body: { error, description } });

/**
 * The Modrinth v2 API on loopback (search with facets, projects, versions, hash lookups) plus the
 * CDN serving the files the versions list, for tests and the embedded default. GET answers carry
 * an ETag and honour If-None-Match; faults: latency, 5xx, 429 with Retry-After, dropped
 * connections, corrupted downloads.
 */
export class ModrinthSimulator extends LoopbackSimulator {
  readonly faults: ModrinthFaults;
  readonly requests: ModrinthRequest[] = [];
  private catalog?: Catalog;

  constructor(options: ModrinthSimulatorOptions = {}) {
    super(options, '/v2');
    this.faults = new ModrinthFaults({ latencyMs: options.latencyMs ?? 0, errorStatus: 503 });
  }

  override async start(): Promise<string> {
    const url = await super.start();
    this.catalog = buildCatalog(this.origin);
    return url;
  }

  /** Where the CDN serves files: the API base without `/v2`. */
  get origin(): string {
    return this.url.replace(/\/v2$/, '');
  }

  get projects(): WireProject[] {
    return this.opened().projects;
  }

  get versions(): WireVersion[] {
    return this.opened().versions;
  }

  /** A project by slug, for tests. */
  project(slug: string): WireProject {
    const p = this.projects.find((x) => x.slug === slug);
    if (!p) throw new Error(`the simulated catalog has no project ${slug}`);
    return p;
  }

  /** A version of a project by its version number, for tests. */
  version(slug: string, number: string): WireVersion {
    const id = this.project(slug).id;
    const v = this.versions.find((x) => x.project_id === id && x.version_number === number);
    if (!v) throw new Error(`the simulated catalog has no version ${slug}@${number}`);
    return v;
  }

  /** Number of requests matching a path prefix, for cache tests. */
  count(prefix: string): number {
    return this.requests.filter((r) => r.path.startsWith(prefix)).length;
  }

  reset(): void {
    this.requests.length = 0;
    this.faults.clear();
  }

  protected failure(err: SimulatorRequestError): SimulatorAnswer {
    return failure(err.status, err.code === 'invalid_json' ? 'invalid_input' : err.code, err.message);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const entry: ModrinthRequest = { method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), status: 0, at: Date.now() };
    this.requests.push(entry);
    if (this.requests.length > REQUEST_LOG_LIMIT) this.requests.shift();
    const raw = await readBoundedBody(req);
    await this.faults.delay();
    if (this.faults.takeDrop()) return dropConnection(req);
    const retryAfter = this.faults.takeRateLimit(entry.method);
    if (retryAfter !== undefined) {
      entry.status = 429;
      return sendSimulatorAnswer(res, failure(429, 'ratelimited', 'You are being rate-limited. Please wait a bit.', {
        'Retry-After': String(retryAfter), 'X-Ratelimit-Limit': String(RATE_LIMIT), 'X-Ratelimit-Remaining': '0', 'X-Ratelimit-Reset': String(retryAfter),
      }));
    }
    const injected = this.faults.takeFailure(entry.method);
    if (injected !== undefined) {
      entry.status = injected;
      return sendSimulatorAnswer(res, { status: injected, body: `<html><body>${injected} upstream error</body></html>` });
    }
    if (url.pathname.startsWith('/data/')) {
      entry.status = this.download(res, url.pathname);
      return;
    }
    const answer = this.route(entry.method, url.pathname.replace(/^\/v2/, ''), url.searchParams, raw);
    entry.status = this.send(req, res, answer);
  }

  /** JSON with an ETag; a matching If-None-Match is answered 304 without a body. */
  private send(req: IncomingMessage, res: ServerResponse, answer: SimulatorAnswer): number {
    const headers: Record<string, string> = { 'X-Ratelimit-Limit': String(RATE_LIMIT), 'X-Ratelimit-Remaining': String(RATE_LIMIT - 1), 'X-Ratelimit-Reset': '60', ...answer.headers };
    if (answer.status === 200 && req.method === 'GET') {
      const etag = `"${createHash('sha1').update(JSON.stringify(answer.body)).digest('hex')}"`;
      headers.ETag = etag;
      if (req.headers['if-none-match'] === etag) {
        sendSimulatorAnswer(res, { status: 304, headers });
        return 304;
      }
    }
    sendSimulatorAnswer(res, { ...answer, headers });
    return answer.status;
  }

  private download(res: ServerResponse, path: string): number {
    const bytes = this.opened().files.get(path);
    if (!bytes) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found');
      return 404;
    }
    const name = decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
    const body = this.faults.corruptFiles.has(name) || this.faults.take('corruptDownloads') ? Buffer.concat([bytes.subarray(0, bytes.length - 1), Buffer.from([bytes[bytes.length - 1] ^ 0xff])]) : bytes;
    res.writeHead(200, { 'Content-Type': 'application/java-archive', 'Content-Length': String(body.length) }).end(body);
    return 200;
  }

  private route(method: string, path: string, q: URLSearchParams, raw: Buffer): SimulatorAnswer {
    const c = this.opened();
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/search') return search(c, q);
    if (method === 'GET' && (m = /^\/project\/([^/]+)$/.exec(path))) {
      const p = findProject(c, decodeURIComponent(m[1]));
      return p ? { status: 200, body: p } : failure(404, 'not_found', 'The requested item(s) were not found or no authorization to access the requested item(s)');
    }
    if (method === 'GET' && (m = /^\/project\/([^/]+)\/version$/.exec(path))) {
      const p = findProject(c, decodeURIComponent(m[1]));
      if (!p) return failure(404, 'not_found', 'The requested item(s) were not found or no authorization to access the requested item(s)');
      const loaders = jsonList(q.get('loaders'));
      const games = jsonList(q.get('game_versions'));
      if (loaders === null || games === null) return failure(400, 'invalid_input', 'Error while validating input: loaders and game_versions are JSON arrays');
      const list = c.versions.filter((v) => v.project_id === p.id)
        .filter((v) => !loaders.length || v.loaders.some((l) => loaders.includes(l)))
        .filter((v) => !games.length || v.game_versions.some((g) => games.includes(g)))
        .sort((a, b) => b.date_published.localeCompare(a.date_published));
      return { status: 200, body: list };
    }
    if (method === 'GET' && (m = /^\/version\/([^/]+)$/.exec(path))) {
      const v = c.versions.find((x) => x.id === decodeURIComponent(m![1]));
      return v ? { status: 200, body: v } : failure(404, 'not_found', 'The requested item(s) were not found or no authorization to access the requested item(s)');
    }
    if (method === 'POST' && path === '/version_files') {
      const body = parseJsonBody(raw) as { hashes?: unknown; algorithm?: unknown } | undefined;
      if (!body || !Array.isArray(body.hashes) || (body.algorithm !== 'sha512' && body.algorithm !== 'sha1')) {
        return failure(400, 'invalid_input', 'Error while validating input: hashes and algorithm (sha1 or sha512) are required');
      }
      const algorithm = body.algorithm;
      const out: Record<string, WireVersion> = {};
      for (const hash of body.hashes) {
        const v = c.versions.find((x) => x.files.some((f) => f.hashes[algorithm] === hash));
        if (v && typeof hash === 'string') out[hash] = v;
      }
      return { status: 200, body: out };
    }
    return failure(404, 'not_found', 'the requested route does not exist');
  }

  private opened(): Catalog {
    if (!this.catalog) throw new Error('the modrinth simulator has not started');
    return this.catalog;
  }
}

function findProject(c: Catalog, idOrSlug: string): WireProject | undefined {
  return c.projects.find((p) => p.id === idOrSlug || p.slug === idOrSlug);
}

function jsonList(text: string | null): string[] | null {
  if (text === null) return [];
  try {
    const parsed = JSON.parse(text);
    return Array.isArray(parsed) && parsed.every((x) => typeof x === 'string') ? parsed : null;
  } catch {
    return null;
  }
}

const FACET_FIELDS = new Set(['project_type', 'categories', 'versions', 'client_side', 'server_side', 'project_id']);

/**
 * `facets` is a JSON array of OR-groups joined by AND, each `field:value` (`categories` also
 * matches loaders, as on Modrinth); `query` matches title, slug and description.
 */
function search(c: Catalog, q: URLSearchParams): SimulatorAnswer {
  let facets: string[][] = [];
  if (q.has('facets')) {
    try {
      facets = JSON.parse(q.get('facets')!);
      if (!Array.isArray(facets) || !facets.every((g) => Array.isArray(g) && g.every((f) => typeof f === 'string' && FACET_FIELDS.has(f.split(':')[0])))) throw new Error();
    } catch {
      return failure(400, 'invalid_input', 'Error while parsing facets');
    }
  }
  const offset = Number(q.get('offset') ?? 0);
  const limit = Number(q.get('limit') ?? 10);
  if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(limit) || limit < 0 || limit > 100) {
    return failure(400, 'invalid_input', 'Error while validating input: offset and limit (0..100) must be integers');
  }
  const text = (q.get('query') ?? '').toLowerCase();
  const matches = c.projects.filter((p) => {
    if (text && !`${p.title} ${p.slug} ${p.description}`.toLowerCase().includes(text)) return false;
    return facets.every((group) => group.some((facet) => {
      const [field, value] = [facet.slice(0, facet.indexOf(':')), facet.slice(facet.indexOf(':') + 1)];
      if (field === 'project_type') return p.project_type === value;
      if (field === 'categories') return p.categories.includes(value) || p.loaders.includes(value);
      if (field === 'versions') return p.game_versions.includes(value);
      if (field === 'client_side') return p.client_side === value;
      if (field === 'server_side') return p.server_side === value;
      return p.id === value;
    }));
  });
  const index = q.get('index') ?? 'relevance';
  if (index === 'downloads' || index === 'relevance') matches.sort((a, b) => b.downloads - a.downloads);
  else if (index === 'newest') matches.sort((a, b) => b.published.localeCompare(a.published));
  else if (index === 'updated') matches.sort((a, b) => b.updated.localeCompare(a.updated));
  const hits = matches.slice(offset, offset + limit).map((p) => ({
    project_id: p.id, project_type: p.project_type, slug: p.slug, author: `${p.slug}-team`, title: p.title, description: p.description,
    categories: p.categories, display_categories: p.categories, versions: p.game_versions, downloads: p.downloads, follows: p.followers,
    icon_url: p.icon_url, date_created: p.published, date_modified: p.updated, latest_version: p.versions[p.versions.length - 1] ?? null,
    license: p.license.id, client_side: p.client_side, server_side: p.server_side, gallery: [], featured_gallery: null, color: null,
  }));
  return { status: 200, body: { hits, offset, limit, total_hits: matches.length } };
}
