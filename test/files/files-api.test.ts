import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { once } from 'node:events';
import { Agent, request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { TestKernel, TestUser } from '../harness';
import { startFleet, startFleetKernel, type Fleet } from '../provisioning/fixture';
import { TRAVERSAL_CORPUS } from './paths.test';
import {
  FILE_ROUTES, PREFIXES, call, exists, fileRequests, gameServer, markRequests, type GameServer, type PrefixName, type RawResponse,
} from './api-fixture';

const MiB = 1024 * 1024;
/** Set small so the limit is cheap to cross; the agent's own 2 MiB text limit is separate. */
const MAX_UPLOAD = 1 * MiB;
const TEXT_LIMIT = 2 * MiB;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Raw query strings that are not produced by encodeURIComponent: each must be refused as well. */
const RAW_QUERIES = [
  'path=..%2F..%2Fetc', 'path=..%2f..%2fetc%2fpasswd', 'path=%2e%2e', 'path=..', 'path=%00', 'path=a%00b',
  'path=%252e%252e%252fetc', 'path=a&path=b', 'path=world&path=..', 'path=/../etc/passwd', 'path=%5C..%5Cetc', '', 'path=',
  'path=%EF%BC%8E%EF%BC%8E/etc', 'path=..%2F', 'path=%2e%2e%5cetc',
];
/**
 * Raw query strings whose percent-encoding is not valid UTF-8 (an overlong "." and a truncated
 * sequence). The corpus sends the same tricks wrapped once more; raw, they reach the kernel as is.
 */
const RAW_MALFORMED = ['path=%c0%ae%c0%ae/x', 'path=%c0%ae%c0%ae', 'path=%E0%A4%A', 'path=world/%ff%fe'];

describe('Files API (end to end: kernel → agent simulator)', () => {
  let fleet: Fleet;
  let tk: TestKernel;
  let owner: TestUser;
  let stranger: TestUser;
  let a: GameServer;
  let b: GameServer;
  /** Target of the traversal attempts, so whatever a failure writes stays away from the other suites. */
  let c: GameServer;

  before(async function () {
    this.timeout(60_000);
    fleet = await startFleet();
    tk = await startFleetKernel(fleet, { config: { files: { maxUploadBytes: MAX_UPLOAD } } });
    owner = await tk.user();
    stranger = await tk.user();
    // Two servers created the same way hold the same seeded folder: one per route set keeps the comparison fair.
    [a, b, c] = await Promise.all([gameServer(owner, 'files-a'), gameServer(owner, 'files-b'), gameServer(owner, 'files-c')]);
  });
  after(async () => {
    await tk?.stop();
    await fleet?.stop();
  });

  const req = (method: string, path: string, opts: { body?: Buffer | string; headers?: Record<string, string> } = {}, user = owner) =>
    call(tk, user.accessToken, method, path, opts);

  describe('path confinement', () => {
    /** Sends each query to one route; returns a line per answer that is not 400 invalid_request on query.path. */
    async function refusals(method: string, withBody: boolean, base: string, queries: readonly string[]): Promise<string[]> {
      const wrong: string[] = [];
      for (const query of queries) {
        const res = await req(method, `${base}?${query}`, withBody ? { body: 'payload', headers: { 'content-type': 'text/plain' } } : {});
        const ok = res.status === 400 && res.json?.error?.code === 'invalid_request'
          && res.json.error.details?.fields?.[0]?.path === 'query.path' && typeof res.json.error.requestId === 'string'
          && res.headers.get('x-request-id') === res.json.error.requestId;
        if (!ok) wrong.push(`${method} ?${query} → ${res.status} ${res.json?.error?.code ?? ''} ${JSON.stringify(res.json?.error?.details?.agent?.body ?? res.json ?? '')}`.slice(0, 180));
      }
      return wrong;
    }

    for (const prefixName of Object.keys(PREFIXES) as PrefixName[]) {
      for (const route of FILE_ROUTES) {
        it(`${prefixName}: ${route.method} …${route.suffix} refuses every traversal with 400 before reaching the agent`, async () => {
          const base = PREFIXES[prefixName](c.id) + route.suffix;
          const mark = markRequests(fleet);
          const queries = [...TRAVERSAL_CORPUS.map((p) => `path=${encodeURIComponent(p)}`), ...RAW_QUERIES];
          expect(await refusals(route.method, route.body, base, queries), 'answers other than 400 invalid_request on query.path').to.deep.equal([]);
          expect(mark.since(), 'requests that reached the agent').to.deep.equal([]);
        });
      }
    }

    it('still serves harmless paths that only look unusual', async () => {
      await writeFile(join(fleet.agents.rootOf(c.vmid), 'file..txt'), 'dots\n');
      const res = await req('GET', `${PREFIXES.canonical(c.id)}/files/content?path=${encodeURIComponent('./file..txt')}`);
      expect(res.status, res.bytes.toString()).to.equal(200);
      expect(res.json).to.include({ path: 'file..txt', content: 'dots\n' });
      const root = await req('GET', `${PREFIXES.canonical(c.id)}/files?path=%2F`);
      expect(root.status).to.equal(200);
      expect(root.json.path).to.equal('');
      await rm(join(fleet.agents.rootOf(c.vmid), 'file..txt'));
    });

    it('downloads say X-Content-Type-Options: nosniff, so a browser never runs a file as another type', async () => {
      await writeFile(join(fleet.agents.rootOf(c.vmid), 'page.txt'), '<script>alert(1)</script>');
      const res = await req('GET', `${PREFIXES.canonical(c.id)}/files/download?path=page.txt`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
      await rm(join(fleet.agents.rootOf(c.vmid), 'page.txt'));
    });

    // koa decodes ?path= leniently: a byte sequence that is not UTF-8 arrives as U+FFFD, so the
    // kernel never sees the malformed percent-encoding it refuses when the same trick is wrapped once more.
    for (const prefixName of Object.keys(PREFIXES) as PrefixName[]) {
      it(`${prefixName}: raw percent-encodings that are not UTF-8 (overlong "%c0%ae") are 400 on every route and never reach the agent`, async () => {
        const mark = markRequests(fleet);
        const wrong: string[] = [];
        for (const route of FILE_ROUTES) {
          wrong.push(...await refusals(route.method, route.body, PREFIXES[prefixName](c.id) + route.suffix, RAW_MALFORMED));
        }
        expect(wrong, 'answers other than 400 invalid_request on query.path').to.deep.equal([]);
        expect(mark.since().map((r) => `${r.method} ${r.path}`), 'requests that reached the agent').to.deep.equal([]);
      });
    }

    it('nothing was written or removed by the refused requests', async () => {
      const root = fleet.agents.rootOf(c.vmid);
      expect((await readdir(root)).sort()).to.deep.equal(['eula.txt', 'logs', 'server.properties', 'world']);
      expect(await readFile(join(root, 'server.properties'), 'utf8')).to.match(/^motd=A zpack server\n/);
    });
  });

  describe('both route sets behave identically', () => {
    /** Files both servers get before the table runs, so both start from the same folder. */
    const blob = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01, 0x02]), randomBytes(2048)]);
    const upload = randomBytes(64 * 1024);
    const huge = Buffer.alloc(TEXT_LIMIT + 1, 'x');
    const first = 'Welcome to été!\n';
    const second = 'second version\n';

    async function arrange(server: GameServer): Promise<string> {
      const root = fleet.agents.rootOf(server.vmid);
      await mkdir(join(root, 'data'), { recursive: true });
      await mkdir(join(root, 'mondes'), { recursive: true });
      await writeFile(join(root, 'data', 'blob.bin'), blob);
      await writeFile(join(root, 'data', 'huge.log'), huge);
      await writeFile(join(root, 'mondes', 'été.txt'), 'bonjour\n');
      return root;
    }

    interface Step {
      name: string;
      method: string;
      /** Suffix after the prefix, query included. */
      path: string;
      body?: Buffer | string;
      contentType?: string;
      check(res: RawResponse, root: string): Promise<void> | void;
    }

    const q = (p: string) => `?path=${encodeURIComponent(p)}`;
    /** The agent's refusal as our own code and message; nothing of the agent's body but known numbers. */
    const agentError = (res: RawResponse, status: number, code: string, numbers: Record<string, number> = {}) => {
      expect(res.status, res.bytes.toString()).to.equal(status);
      expect(res.headers.get('content-type')).to.match(/^application\/json/);
      expect(res.json.error.code).to.equal(code);
      expect(res.json.error.details).to.deep.equal({ ...numbers, agent: { status, code } });
    };
    const sizeOf = async (root: string, rel: string) => (await stat(join(root, rel))).size;
    const entry = (name: string, path: string, type: 'file' | 'dir', sizeBytes: number) => ({ name, path, type, sizeBytes });
    const shape = (entries: any[]) => entries.map(({ modifiedAt, ...rest }) => {
      expect(modifiedAt).to.match(ISO);
      return rest;
    });

    const STEPS: Step[] = [
      {
        name: 'list the root', method: 'GET', path: `/files${q('/')}`,
        check: async (res, root) => {
          expect(res.status).to.equal(200);
          expect(res.json.path).to.equal('');
          expect(shape(res.json.entries)).to.deep.equal([
            entry('data', 'data', 'dir', 0), entry('logs', 'logs', 'dir', 0), entry('mondes', 'mondes', 'dir', 0), entry('world', 'world', 'dir', 0),
            entry('eula.txt', 'eula.txt', 'file', await sizeOf(root, 'eula.txt')),
            entry('server.properties', 'server.properties', 'file', await sizeOf(root, 'server.properties')),
          ]);
        },
      },
      {
        name: 'list a folder', method: 'GET', path: `/files${q('world')}`,
        check: async (res, root) => {
          expect(res.status).to.equal(200);
          expect(res.json.path).to.equal('world');
          expect(shape(res.json.entries)).to.deep.equal([
            entry('region', 'world/region', 'dir', 0), entry('level.dat', 'world/level.dat', 'file', await sizeOf(root, 'world/level.dat')),
          ]);
        },
      },
      {
        name: 'list a file', method: 'GET', path: `/files${q('eula.txt')}`,
        check: (res) => agentError(res, 400, 'not_a_directory'),
      },
      {
        name: 'stat a file', method: 'GET', path: `/files/stat${q('server.properties')}`,
        check: async (res, root) => {
          expect(res.status).to.equal(200);
          const { modifiedAt, ...rest } = res.json;
          expect(rest).to.deep.equal({ name: 'server.properties', path: 'server.properties', type: 'file', sizeBytes: (await stat(join(root, 'server.properties'))).size });
          expect(modifiedAt).to.match(ISO);
        },
      },
      {
        name: 'read a text file', method: 'GET', path: `/files/content${q('server.properties')}`,
        check: async (res, root) => {
          expect(res.status).to.equal(200);
          const content = await readFile(join(root, 'server.properties'), 'utf8');
          expect(res.json).to.include({ path: 'server.properties', content, sizeBytes: Buffer.byteLength(content) });
          expect(res.json.modifiedAt).to.match(ISO);
        },
      },
      {
        name: 'read a missing file', method: 'GET', path: `/files/content${q('nope/missing.txt')}`,
        check: (res) => agentError(res, 404, 'not_found'),
      },
      {
        name: 'download a file', method: 'GET', path: `/files/download${q('world/level.dat')}`,
        check: async (res, root) => {
          expect(res.status).to.equal(200);
          const bytes = await readFile(join(root, 'world', 'level.dat'));
          expect(res.headers.get('content-type')).to.equal('application/octet-stream');
          expect(res.headers.get('content-length')).to.equal(String(bytes.length));
          expect(res.headers.get('content-disposition')).to.equal(`attachment; filename="level.dat"; filename*=UTF-8''level.dat`);
          expect(res.bytes.equals(bytes)).to.equal(true);
        },
      },
      {
        name: 'download a file with a non-ASCII name', method: 'GET', path: `/files/download${q('mondes/été.txt')}`,
        check: (res) => {
          expect(res.status).to.equal(200);
          expect(res.headers.get('content-length')).to.equal('8');
          expect(res.headers.get('content-disposition')).to.equal(`attachment; filename="_t_.txt"; filename*=UTF-8''%C3%A9t%C3%A9.txt`);
          expect(res.bytes.toString('utf8')).to.equal('bonjour\n');
        },
      },
      {
        name: 'write a new file (raw body), creating its folder', method: 'PUT', path: `/files/content${q('config/motd.txt')}`, body: first, contentType: 'text/plain; charset=utf-8',
        check: async (res, root) => {
          expect(res.status, res.bytes.toString()).to.equal(200);
          expect(res.json).to.include({ path: 'config/motd.txt', sizeBytes: Buffer.byteLength(first) });
          expect(res.json.modifiedAt).to.match(ISO);
          expect(await readFile(join(root, 'config', 'motd.txt'), 'utf8')).to.equal(first);
        },
      },
      {
        name: 'read the written file back', method: 'GET', path: `/files/content${q('config/motd.txt')}`,
        check: (res) => {
          expect(res.status).to.equal(200);
          expect(res.json).to.include({ path: 'config/motd.txt', content: first, sizeBytes: Buffer.byteLength(first) });
        },
      },
      {
        name: 'overwrite it', method: 'PUT', path: `/files/content${q('config/motd.txt')}`, body: second, contentType: 'text/plain',
        check: async (res, root) => {
          expect(res.status).to.equal(200);
          expect(await readFile(join(root, 'config', 'motd.txt'), 'utf8')).to.equal(second);
        },
      },
      {
        name: 'revert to the previous version', method: 'POST', path: `/files/revert${q('config/motd.txt')}`,
        check: async (res, root) => {
          expect(res.status, res.bytes.toString()).to.equal(200);
          expect(res.json).to.include({ path: 'config/motd.txt', sizeBytes: Buffer.byteLength(first) });
          expect(await readFile(join(root, 'config', 'motd.txt'), 'utf8')).to.equal(first);
        },
      },
      {
        name: 'revert a file without a previous version', method: 'POST', path: `/files/revert${q('eula.txt')}`,
        check: (res) => agentError(res, 404, 'no_previous_version'),
      },
      {
        name: 'upload a binary file (raw body)', method: 'POST', path: `/files/upload${q('plugins/icon.png')}`, body: upload, contentType: 'image/png',
        check: async (res, root) => {
          expect(res.status, res.bytes.toString()).to.equal(201);
          expect(res.json).to.deep.equal({ path: 'plugins/icon.png', sizeBytes: upload.length });
          expect((await readFile(join(root, 'plugins', 'icon.png'))).equals(upload)).to.equal(true);
        },
      },
      {
        name: 'download the uploaded file', method: 'GET', path: `/files/download${q('plugins/icon.png')}`,
        check: (res) => {
          expect(res.status).to.equal(200);
          expect(res.headers.get('content-type')).to.equal('application/octet-stream');
          expect(res.headers.get('content-length')).to.equal(String(upload.length));
          expect(res.headers.get('content-disposition')).to.equal(`attachment; filename="icon.png"; filename*=UTF-8''icon.png`);
          expect(res.bytes.equals(upload)).to.equal(true);
        },
      },
      {
        name: 'delete it', method: 'DELETE', path: `/files${q('plugins/icon.png')}`,
        check: async (res, root) => {
          expect(res.status).to.equal(204);
          expect(res.bytes.length).to.equal(0);
          expect(await exists(join(root, 'plugins', 'icon.png'))).to.equal(false);
        },
      },
      {
        name: 'stat the deleted file', method: 'GET', path: `/files/stat${q('plugins/icon.png')}`,
        check: (res) => agentError(res, 404, 'not_found'),
      },
      {
        name: 'delete the root', method: 'DELETE', path: `/files${q('/')}`,
        check: async (res, root) => {
          agentError(res, 400, 'cannot_delete_root');
          expect(await exists(join(root, 'server.properties'))).to.equal(true);
        },
      },
      {
        name: 'read a binary file as text', method: 'GET', path: `/files/content${q('data/blob.bin')}`,
        check: (res) => agentError(res, 415, 'binary_file'),
      },
      {
        name: 'read a file over 2 MiB as text', method: 'GET', path: `/files/content${q('data/huge.log')}`,
        check: (res) => agentError(res, 413, 'too_large', { sizeBytes: TEXT_LIMIT + 1, limitBytes: TEXT_LIMIT }),
      },
      {
        name: 'download the file that is too large to read as text', method: 'GET', path: `/files/download${q('data/huge.log')}`,
        check: (res) => {
          expect(res.status).to.equal(200);
          expect(res.headers.get('content-length')).to.equal(String(TEXT_LIMIT + 1));
          expect(res.bytes.equals(huge)).to.equal(true);
        },
      },
      {
        name: 'list the root after the changes', method: 'GET', path: `/files${q('/')}`,
        check: (res) => {
          expect(res.status).to.equal(200);
          expect(res.json.entries.map((e: any) => e.name)).to.deep.equal(['config', 'data', 'logs', 'mondes', 'plugins', 'world', 'eula.txt', 'server.properties']);
        },
      },
    ];

    /** What must match across route sets: status, the content headers, and the body (times blanked). */
    interface Observed {
      step: string;
      status: number;
      headers: Record<string, string | null>;
      body: unknown;
    }

    const blankTimes = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(blankTimes);
      if (value && typeof value === 'object') {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'modifiedAt' ? '<time>' : blankTimes(v)]));
      }
      return value;
    };

    async function runTable(prefixName: PrefixName, server: GameServer): Promise<Observed[]> {
      const root = await arrange(server);
      const observed: Observed[] = [];
      for (const [i, step] of STEPS.entries()) {
        // The same request id on both runs: the error envelopes then have to match byte for byte.
        const requestId = `table-step-${i}`;
        const headers: Record<string, string> = { 'x-request-id': requestId };
        if (step.contentType) headers['content-type'] = step.contentType;
        const res = await req(step.method, `${PREFIXES[prefixName](server.id)}${step.path}`, { body: step.body, headers });
        try {
          expect(res.headers.get('x-request-id')).to.equal(requestId);
          if (res.json?.error) expect(res.json.error.requestId).to.equal(requestId);
          await step.check(res, root);
        } catch (err) {
          (err as Error).message = `${prefixName} step "${step.name}": ${(err as Error).message}`;
          throw err;
        }
        observed.push({
          step: step.name,
          status: res.status,
          headers: Object.fromEntries(['content-type', 'content-length', 'content-disposition'].map((h) => [h, res.headers.get(h)])),
          body: res.json !== undefined ? blankTimes(res.json) : { sha256: createHash('sha256').update(res.bytes).digest('hex'), length: res.bytes.length },
        });
      }
      return observed;
    }

    let canonical: Observed[];
    let compat: Observed[];

    it('the canonical route set /api/servers/:id/files… answers the table as specified', async () => {
      canonical = await runTable('canonical', a);
    });

    it('the compatibility route set /api/game/servers/:id/files… answers the table as specified', async () => {
      compat = await runTable('compat', b);
    });

    it('both answer with the same status, content headers and body at every step', function () {
      if (!canonical || !compat) this.skip();
      expect(compat).to.have.length(STEPS.length);
      for (let i = 0; i < STEPS.length; i++) expect(compat[i], `step "${STEPS[i].name}"`).to.deep.equal(canonical[i]);
    });

    it('the compatibility run reached the agent exactly once per step, on the same agent routes', () => {
      expect(fileRequests(fleet, b.vmid).map((r) => `${r.method} ${r.path}`))
        .to.deep.equal(STEPS.map((s) => `${s.method} ${s.path.split('?')[0]}`));
    });
  });

  describe('a 200 MiB download', () => {
    const SIZE = 200 * MiB;
    let path: string;
    let digest: string;

    before(async function () {
      this.timeout(60_000);
      path = join(fleet.agents.rootOf(a.vmid), 'big', 'world-export.bin');
      await mkdir(dirname(path), { recursive: true });
      const hash = createHash('sha256');
      const out = createWriteStream(path);
      const chunk = Buffer.alloc(MiB);
      for (let i = 0; i < SIZE / MiB; i++) {
        chunk.fill(i % 251);
        chunk.writeUInt32BE(i, 0);
        hash.update(chunk);
        if (!out.write(chunk)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'finish');
      digest = hash.digest('hex');
    });
    after(async () => {
      if (path) await rm(dirname(path), { recursive: true, force: true });
    });

    it('streams through the API with flat memory and arrives whole', async function () {
      this.timeout(120_000);
      const gc = collector();
      gc();
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const res = await fetch(`${tk.url}${PREFIXES.canonical(a.id)}/files/download?path=${encodeURIComponent('big/world-export.bin')}`, {
        headers: { authorization: `Bearer ${owner.accessToken}` },
      });
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-length')).to.equal(String(SIZE));
      expect(res.headers.get('content-disposition')).to.match(/^attachment; filename="world-export\.bin"/);
      const reader = res.body!.getReader();
      const hash = createHash('sha256');
      let received = 0;
      let nextSample = 8 * MiB;
      let stalled = false;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        received += value.byteLength;
        hash.update(value);
        if (received >= nextSample) {
          nextSample += 8 * MiB;
          gc();
          peak = Math.max(peak, process.memoryUsage().rss);
        }
        if (!stalled && received >= 16 * MiB) {
          // A slow client: anything that buffers instead of applying backpressure fills up meanwhile.
          stalled = true;
          await sleep(300);
        }
      }
      gc();
      peak = Math.max(peak, process.memoryUsage().rss);
      expect(received, 'bytes received').to.equal(SIZE);
      expect(hash.digest('hex'), 'sha256 of the download').to.equal(digest);
      expect(peak - baseline, `rss grew by ${((peak - baseline) / MiB).toFixed(1)} MiB`).to.be.below(64 * MiB);
    });
  });

  describe('upload limit (files.maxUploadBytes = 1 MiB)', () => {
    const over = Buffer.alloc(MAX_UPLOAD + 1, 'a');

    for (const [method, suffix] of [['PUT', '/files/content'], ['POST', '/files/upload']] as const) {
      it(`${method} …${suffix} over the limit is 413 payload_too_large and writes nothing`, async () => {
        const mark = markRequests(fleet);
        const target = `limits/${method.toLowerCase()}-over.bin`;
        const res = await req(method, `${PREFIXES.canonical(a.id)}${suffix}?path=${encodeURIComponent(target)}`, { body: over, headers: { 'content-type': 'application/octet-stream' } });
        expect(res.status, res.bytes.toString()).to.equal(413);
        expect(res.json.error).to.include({ code: 'payload_too_large' });
        expect(res.json.error.details).to.deep.equal({ limitBytes: MAX_UPLOAD });
        expect(await exists(join(fleet.agents.rootOf(a.vmid), target))).to.equal(false);
        expect(await exists(join(fleet.agents.rootOf(a.vmid), 'limits'))).to.equal(false);
        expect(mark.since(a.vmid), 'requests that reached the agent').to.deep.equal([]);
      });
    }

    it('a body of exactly the limit is written', async () => {
      const exact = Buffer.alloc(MAX_UPLOAD, 'b');
      const res = await req('PUT', `${PREFIXES.canonical(a.id)}/files/content?path=limits/exact.bin`, { body: exact });
      expect(res.status, res.bytes.toString()).to.equal(200);
      expect(res.json).to.include({ path: 'limits/exact.bin', sizeBytes: MAX_UPLOAD });
      expect((await stat(join(fleet.agents.rootOf(a.vmid), 'limits', 'exact.bin'))).size).to.equal(MAX_UPLOAD);
      await rm(join(fleet.agents.rootOf(a.vmid), 'limits'), { recursive: true });
    });

    describe('a streamed body (chunked, no Content-Length) that grows past the limit', () => {
      // A dedicated keep-alive pool of one socket, so a connection left in a bad state cannot hold up the other suites.
      let pool: Agent;
      let refused: { status: number; body: string };
      const target = 'limits/chunked-over.bin';


      before(async () => {
        pool = new Agent({ keepAlive: true, maxSockets: 1 });
        refused = await chunkedPut(pool, `${PREFIXES.canonical(a.id)}/files/content?path=${encodeURIComponent(target)}`, 4 * MAX_UPLOAD);
      });
      after(() => pool?.destroy());

      it('is 413 payload_too_large with the limit', () => {
        expect(refused.status, refused.body).to.equal(413);
        const error = JSON.parse(refused.body).error;
        expect(error.code).to.equal('payload_too_large');
        expect(error.details).to.deep.equal({ limitBytes: MAX_UPLOAD });
      });

      it('writes nothing in the server folder', async () => {
        expect(await exists(join(fleet.agents.rootOf(a.vmid), target))).to.equal(false);
        expect(await exists(join(fleet.agents.rootOf(a.vmid), 'limits'))).to.equal(false);
      });

      it('leaves the client connection usable: the next request on it is answered', async () => {
        const next = await getWithin(pool, '/healthz', 5000);
        expect(next.status).to.equal(200);
      });
    });

    /** PUT with a body streamed in 64 KiB chunks (Transfer-Encoding: chunked); resolves with the answer. */
    function chunkedPut(pool: Agent, path: string, total: number): Promise<{ status: number; body: string }> {
      return new Promise((resolve, reject) => {
        const request = httpRequest(`${tk.url}${path}`, {
          method: 'PUT', agent: pool, headers: { authorization: `Bearer ${owner.accessToken}`, 'content-type': 'application/octet-stream' },
        }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        });
        // Once answered, the rest of the upload may be refused by the server; that is its right.
        request.on('error', (err) => reject(new Error(`no answer to the oversized upload: ${err.message}`)));
        const chunk = Buffer.alloc(64 * 1024, 0x63);
        Readable.from((function* () {
          for (let sent = 0; sent < total; sent += chunk.length) yield chunk;
        })()).pipe(request);
      });
    }

    /** GET through the pool, failing if no answer arrives within `ms`. */
    function getWithin(pool: Agent, path: string, ms: number): Promise<{ status: number }> {
      return new Promise((resolve, reject) => {
        const request = httpRequest(`${tk.url}${path}`, { agent: pool }, (res) => {
          res.resume();
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0 });
          });
        });
        const timer = setTimeout(() => {
          request.destroy();
          reject(new Error(`no answer within ${ms} ms on the keep-alive connection of the refused upload`));
        }, ms);
        request.on('error', () => undefined);
        request.end();
      });
    }
  });

  describe('agent failures', () => {
    it('a 500 from the agent is 502 agent_error with a message of ours, never the agent\'s body, on both route sets', async () => {
      const leaky = { error: 'internal', message: 'ENAMETOOLONG: name too long, open \'/tmp/zpack-agent-sim-x/staging/upload-1\'' };
      for (const prefixName of Object.keys(PREFIXES) as PrefixName[]) {
        const mark = markRequests(fleet);
        fleet.agents.faults.failNext(1, 500, leaky);
        const res = await req('GET', `${PREFIXES[prefixName](a.id)}/files?path=world`);
        expect(res.status, prefixName).to.equal(502);
        expect(res.json.error.code).to.equal('agent_error');
        expect(res.json.error.details).to.deep.equal({ agent: { status: 500 } });
        expect(res.bytes.toString()).not.to.match(/ENAMETOOLONG|\/tmp\//);
        expect(mark.since().map((r) => `${r.vmid} ${r.method} ${r.path}`)).to.deep.equal([`${a.vmid} GET /files`]);
      }
    });

    it('a text answer from the agent is not relayed either', async () => {
      fleet.agents.faults.failNext(1, 503, 'agent is overloaded');
      const res = await req('GET', `${PREFIXES.canonical(a.id)}/files/download?path=server.properties`);
      expect(res.status).to.equal(502);
      expect(res.json.error.code).to.equal('agent_error');
      expect(res.json.error.details).to.deep.equal({ agent: { status: 503 } });
      expect(res.bytes.toString()).not.to.contain('overloaded');
    });

    it('a failed write leaves the file as it was', async () => {
      const file = join(fleet.agents.rootOf(a.vmid), 'server.properties');
      const before = await readFile(file, 'utf8');
      fleet.agents.faults.failNext(1, 500, { error: 'read_only_filesystem' });
      const res = await req('PUT', `${PREFIXES.compat(a.id)}/files/content?path=server.properties`, { body: 'motd=broken\n', headers: { 'content-type': 'text/plain' } });
      expect(res.status).to.equal(502);
      expect(res.json.error.details).to.deep.equal({ agent: { status: 500 } });
      expect(await readFile(file, 'utf8')).to.equal(before);
    });

    it('an agent that drops the connection is 502 agent_error with status 0', async () => {
      fleet.agents.faults.dropConnections = new Set([a.vmid]);
      try {
        const res = await req('GET', `${PREFIXES.canonical(a.id)}/files/stat?path=eula.txt`);
        expect(res.status).to.equal(502);
        expect(res.json.error.code).to.equal('agent_error');
        expect(res.json.error.details).to.deep.equal({ agent: { status: 0 } });
      } finally {
        fleet.agents.faults.dropConnections = false;
      }
      expect((await req('GET', `${PREFIXES.canonical(a.id)}/files/stat?path=eula.txt`)).status).to.equal(200);
    });
  });

  describe('ownership', () => {
    for (const prefixName of Object.keys(PREFIXES) as PrefixName[]) {
      it(`${prefixName}: another account's server is 404 on every file route, and the agent is never asked`, async () => {
        const mark = markRequests(fleet);
        const file = join(fleet.agents.rootOf(a.vmid), 'server.properties');
        const before = await readFile(file, 'utf8');
        for (const route of FILE_ROUTES) {
          const res = await req(route.method, `${PREFIXES[prefixName](a.id)}${route.suffix}?path=server.properties`,
            route.body ? { body: 'motd=owned\n', headers: { 'content-type': 'text/plain' } } : {}, stranger);
          expect(res.status, `${route.method} ${route.suffix}`).to.equal(404);
          expect(res.json.error.code).to.equal('not_found');
        }
        expect(mark.since()).to.deep.equal([]);
        expect(await readFile(file, 'utf8')).to.equal(before);
      });
    }

    it('an unknown server id is 404 as well, and no token is 401', async () => {
      const unknown = '00000000-0000-4000-8000-000000000000';
      expect((await req('GET', `${PREFIXES.canonical(unknown)}/files?path=/`)).status).to.equal(404);
      expect((await req('GET', `${PREFIXES.compat(unknown)}/files?path=/`)).status).to.equal(404);
      const anonymous = await call(tk, undefined, 'GET', `${PREFIXES.canonical(a.id)}/files?path=/`);
      expect(anonymous.status).to.equal(401);
      expect(anonymous.json.error.code).to.equal('unauthenticated');
    });
  });
});

/** A real garbage collection when the runtime allows one (global.gc, or V8's flag set at runtime); else a no-op. */
function collector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (() => void) | undefined;
    if (typeof gc === 'function') return gc;
  } catch {
    // Sampling without collecting still bounds the growth, only more loosely.
  }
  return () => undefined;
}
