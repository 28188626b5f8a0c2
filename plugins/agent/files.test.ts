import { expect } from 'chai';
import { readFile, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { AgentRequest, InstanceView } from '../../kernel/api';
import { agentError, readJsonBody, readText, sleep, startAgentFixture, type AgentFixture } from './testing/fixture';

const MiB = 1024 * 1024;

/**
 * Collected garbage is not what a streaming test is about: forcing a collection now and then
 * makes rss show what is retained, which for a buffering implementation would be the whole body.
 */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Peak rss growth over `work`, sampled (after a collection) whenever `sample` is called. */
async function rssGrowth(work: (sample: () => void) => Promise<void>): Promise<number> {
  collectGarbage();
  const before = process.memoryUsage().rss;
  let peak = before;
  let samples = 0;
  await work(() => {
    if (++samples % 64 === 0) collectGarbage();
    peak = Math.max(peak, process.memoryUsage().rss);
  });
  return peak - before;
}

/** Long enough that a loaded machine does not trip it, short enough for the silent-agent case. */
const TIMEOUT_MS = 1500;

describe('InstanceAgent files (request)', () => {
  let fx: AgentFixture;
  let server: InstanceView;
  before(async () => {
    fx = await startAgentFixture({ timeoutMs: TIMEOUT_MS });
  });
  after(() => fx.sim.stop());
  beforeEach(async () => {
    await fx.sim.reset();
    server = await fx.provision(301);
  });

  const send = (request: AgentRequest) => fx.agent.request(server, request);
  const json = async (request: AgentRequest) => {
    const res = await send(request);
    return { status: res.status, body: res.status === 204 ? undefined : await readJsonBody(res.body) };
  };
  const file = (path: string) => join(fx.sim.rootOf(301), path);

  it('lists the seeded server folder, directories first', async () => {
    const { status, body } = await json({ method: 'GET', path: '/files', query: { path: '' } });
    expect(status).to.equal(200);
    const entries = body?.entries as Array<Record<string, unknown>>;
    expect(entries.map((e) => `${e.type} ${e.path}`)).to.deep.equal(['dir logs', 'dir world', 'file eula.txt', 'file server.properties']);
    expect(entries.find((e) => e.name === 'eula.txt')).to.include({ sizeBytes: 10 });
    const world = await json({ method: 'GET', path: '/files', query: { path: 'world' } });
    expect((world.body?.entries as Array<{ path: string }>).map((e) => e.path)).to.deep.equal(['world/region', 'world/level.dat']);
  });

  it('stats and reads a text file, and answers 404 not_found for a missing one', async () => {
    const stat1 = await json({ method: 'GET', path: '/files/stat', query: { path: 'eula.txt' } });
    expect(stat1.body).to.include({ name: 'eula.txt', path: 'eula.txt', type: 'file', sizeBytes: 10 });
    const read = await json({ method: 'GET', path: '/files/content', query: { path: 'eula.txt' } });
    expect(read.body).to.include({ path: 'eula.txt', content: 'eula=true\n', sizeBytes: 10 });
    expect(await json({ method: 'GET', path: '/files/content', query: { path: 'nope.txt' } }))
      .to.deep.equal({ status: 404, body: { error: 'not_found', path: 'nope.txt' } });
  });

  it('refuses to read as text a file over 2 MiB (413) or a binary one (415)', async () => {
    await truncate(file('logs/latest.log'), 2 * MiB + 1);
    await writeFile(file('world/icon.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01]));
    const big = await json({ method: 'GET', path: '/files/content', query: { path: 'logs/latest.log' } });
    expect(big).to.deep.include({ status: 413 });
    expect(big.body).to.include({ error: 'too_large' });
    expect((await json({ method: 'GET', path: '/files/content', query: { path: 'world/icon.png' } })).status).to.equal(415);
  });

  it('writes a streamed body keeping the previous version, and reverts to it (twice = back again)', async () => {
    const write = await json({ method: 'PUT', path: '/files/content', query: { path: 'server.properties' }, body: Readable.from(['motd=', 'edited\n']) });
    expect(write.body).to.include({ path: 'server.properties', sizeBytes: 12 });
    expect(await readFile(file('server.properties'), 'utf8')).to.equal('motd=edited\n');
    expect((await json({ method: 'POST', path: '/files/revert', query: { path: 'server.properties' } })).status).to.equal(200);
    expect(await readFile(file('server.properties'), 'utf8')).to.contain('motd=A zpack server');
    await json({ method: 'POST', path: '/files/revert', query: { path: 'server.properties' } });
    expect(await readFile(file('server.properties'), 'utf8')).to.equal('motd=edited\n');
    expect(await json({ method: 'POST', path: '/files/revert', query: { path: 'eula.txt' } }))
      .to.deep.equal({ status: 404, body: { error: 'no_previous_version', path: 'eula.txt' } });
  });

  it('uploads a streamed file (201) and downloads it back with its length and name', async () => {
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    const up = await json({ method: 'POST', path: '/files/upload', query: { path: 'plugins/été.jar' }, body: Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]) });
    expect(up).to.deep.equal({ status: 201, body: { path: 'plugins/été.jar', sizeBytes: bytes.length } });
    const down = await send({ method: 'GET', path: '/files/download', query: { path: 'plugins/été.jar' } });
    expect(down.status).to.equal(200);
    expect(down.headers).to.include({ 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) });
    expect(down.headers['content-disposition']).to.contain("filename*=UTF-8''%C3%A9t%C3%A9.jar");
    const chunks: Buffer[] = [];
    for await (const chunk of down.body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(bytes)).to.equal(true);
  });

  it('pipes a download into a writable whole, never reusing a buffer before its write is done; a missing file is a 404 body', async function () {
    this.timeout(60_000);
    // Every 4 bytes differ: a read buffer reused before its write completed would garble what arrives.
    const bytes = Buffer.alloc(5 * MiB);
    for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32BE(i, i);
    await writeFile(file('world/region.bin'), bytes);
    const down = await send({ method: 'GET', path: '/files/download', query: { path: 'world/region.bin' } });
    expect(down.status).to.equal(200);
    expect(down.pipe, 'a download offers pipe').to.be.a('function');
    const chunks: Buffer[] = [];
    // A slow client that reads each chunk only when it completes the write, after the socket read again.
    const slow = new Writable({ highWaterMark: 1, write(chunk: Buffer, _encoding, done) {
      setTimeout(() => {
        chunks.push(Buffer.from(chunk));
        done();
      }, 1);
    } });
    await down.pipe!(slow);
    expect(Buffer.concat(chunks).equals(bytes), 'the piped bytes').to.equal(true);
    expect(await json({ method: 'GET', path: '/files/download', query: { path: 'nope.bin' } })).to.deep.equal({ status: 404, body: { error: 'not_found', path: 'nope.bin' } });
  });

  it('ends a piped download when its destination closes early (a client that left)', async () => {
    await writeFile(file('world/region.bin'), Buffer.alloc(5 * MiB, 1));
    const down = await send({ method: 'GET', path: '/files/download', query: { path: 'world/region.bin' } });
    const leaving: Writable = new Writable({ write(_chunk, _encoding, done) {
      leaving.destroy();
      done();
    } });
    const outcome = await down.pipe!(leaving).then(() => 'finished', (err: Error) => err.message);
    expect(outcome).to.equal('client closed the download');
    // The agent is still served: the relay left no connection half-read behind.
    expect((await json({ method: 'GET', path: '/files/stat', query: { path: 'eula.txt' } })).status).to.equal(200);
  });

  it('deletes a file and a folder (204), then they are gone; the root itself cannot be deleted', async () => {
    expect((await json({ method: 'DELETE', path: '/files', query: { path: 'eula.txt' } })).status).to.equal(204);
    expect((await json({ method: 'DELETE', path: '/files', query: { path: 'world' } })).status).to.equal(204);
    expect(await stat(file('world')).catch(() => 'gone')).to.equal('gone');
    expect((await json({ method: 'GET', path: '/files/stat', query: { path: 'eula.txt' } })).status).to.equal(404);
    expect((await json({ method: 'DELETE', path: '/files', query: { path: '' } })).status).to.equal(400);
  });

  it('refuses paths escaping the server root with 400, symlinks included, and touches nothing outside', async () => {
    const outside = join(dirname(fx.sim.rootOf(301)), 'outside.txt');
    await writeFile(outside, 'secret');
    await symlink(dirname(fx.sim.rootOf(301)), file('world/link'));
    for (const path of ['../outside.txt', '/etc/passwd', 'world/../../outside.txt', 'world/link/outside.txt', 'a\\..\\b', 'x\u0000y']) {
      expect((await json({ method: 'GET', path: '/files/content', query: { path } })).body).to.deep.equal({ error: 'invalid_path', path });
    }
    const write = await json({ method: 'PUT', path: '/files/content', query: { path: 'world/link/outside.txt' }, body: Readable.from(['pwned']) });
    expect(write.status).to.equal(400);
    expect(await readFile(outside, 'utf8')).to.equal('secret');
  });

  it('streams a 200 MiB download: memory grows far less than the file', async function () {
    this.timeout(60_000);
    // A sparse file: 200 MiB to send, nothing to write.
    await writeFile(file('world/export.zip'), '');
    await truncate(file('world/export.zip'), 200 * MiB);
    let received = 0;
    const growth = await rssGrowth(async (sample) => {
      const res = await send({ method: 'GET', path: '/files/download', query: { path: 'world/export.zip' } });
      expect(res.headers['content-length']).to.equal(String(200 * MiB));
      for await (const chunk of res.body) {
        received += (chunk as Buffer).length;
        sample();
      }
    });
    expect(received).to.equal(200 * MiB);
    expect(growth).to.be.below(64 * MiB);
  });

  it('streams a 100 MiB upload: memory grows far less than the body', async function () {
    this.timeout(60_000);
    const chunk = Buffer.alloc(MiB, 7);
    let answer: unknown;
    const growth = await rssGrowth(async (sample) => {
      const body = Readable.from((function* () {
        for (let i = 0; i < 100; i++) {
          sample();
          yield chunk;
        }
      })());
      answer = await json({ method: 'POST', path: '/files/upload', query: { path: 'world/big.dat' }, body });
    });
    expect(answer).to.deep.equal({ status: 201, body: { path: 'world/big.dat', sizeBytes: 100 * MiB } });
    expect((await stat(file('world/big.dat'))).size).to.equal(100 * MiB);
    expect(growth).to.be.below(64 * MiB);
  });

  it('lets a slow upload run past timeoutMs as long as it keeps moving', async () => {
    const body = Readable.from((async function* () {
      // Each gap well inside timeoutMs, the whole body well past it.
      for (let i = 0; i < 6; i++) {
        await sleep(TIMEOUT_MS / 4);
        yield Buffer.from(`line ${i}\n`);
      }
    })());
    const up = await json({ method: 'PUT', path: '/files/content', query: { path: 'slow.txt' }, body });
    expect(up.status).to.equal(200);
    expect(await readFile(file('slow.txt'), 'utf8')).to.have.length(42);
  });

  it('returns agent errors as they are, and fails with AgentError status 0 only on transport failures', async () => {
    fx.sim.faults.failNext(1, 507, { error: 'disk_full' });
    const full = await send({ method: 'GET', path: '/files', query: { path: '' } });
    expect({ status: full.status, body: await readText(full.body) }).to.deep.equal({ status: 507, body: '{"error":"disk_full"}' });
    fx.sim.faults.unreachable = true;
    const silent = await agentError(send({ method: 'GET', path: '/files/download', query: { path: 'eula.txt' } }));
    expect(silent.details.agent).to.deep.equal({ status: 0, body: { reason: `no answer within ${TIMEOUT_MS} ms` } });
    fx.sim.faults.unreachable = false;
    fx.sim.faults.dropConnections = true;
    const dropped = await agentError(send({ method: 'GET', path: '/files', query: { path: '' } }));
    expect(dropped.details.agent).to.have.property('status', 0);
  });

  it('sends the instance token, whatever authorization header the caller forwards', async () => {
    const res = await send({ method: 'GET', path: '/files/stat', query: { path: 'eula.txt' }, headers: { Authorization: 'Bearer user-token' } });
    expect(res.status).to.equal(200);
    await readText(res.body);
  });
});
