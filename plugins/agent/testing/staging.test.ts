import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { AgentSimulator } from './simulator';

/** A tiny file server standing in for a mod CDN. */
async function cdn(files: Record<string, Buffer>): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const body = files[req.url ?? ''];
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': String(body.length) }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}

const sha512 = (b: Buffer) => createHash('sha512').update(b).digest('hex');

describe('AgentSimulator staged downloads (POST /staging, /staging/apply)', () => {
  let sim: AgentSimulator;
  let files: { url: string; close(): Promise<void> };
  const jar = Buffer.from('PK fake jar bytes');
  const other = Buffer.from('PK another jar');
  const token = 'staging-token';

  before(async () => {
    sim = await new AgentSimulator({ port: 0, bootMs: 10 }).start();
    files = await cdn({ '/a.jar': jar, '/b.jar': other });
  });
  after(async () => {
    await sim.stop();
    await files.close();
  });

  async function call(vmid: number, method: string, p: string, body?: unknown) {
    const res = await fetch(`${sim.address(vmid)}${p}`, {
      method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }
  const provisioned = async (vmid: number) => {
    await call(vmid, 'POST', '/provision', { payload: { agentToken: token } });
    return sim.rootOf(vmid);
  };
  const listing = async (root: string, dir: string) => (await readdir(path.join(root, dir)).catch(() => [] as string[])).sort();

  it('downloads into staging, checking the sha512, and puts the file in place on apply', async () => {
    const root = await provisioned(101);
    const staged = await call(101, 'POST', '/staging', { url: `${files.url}/a.jar`, sha512: sha512(jar), sizeBytes: jar.length });
    expect(staged.status).to.equal(201);
    expect(staged.body).to.include({ sha512: sha512(jar), sizeBytes: jar.length });
    expect(await listing(root, 'mods')).to.deep.equal([]);
    expect(await call(101, 'POST', '/staging/apply', { changes: [{ put: { id: staged.body.id, path: 'mods/a.jar' } }] })).to.deep.equal({ status: 200, body: { applied: 1 } });
    expect(await readFile(path.join(root, 'mods/a.jar'))).to.deep.equal(jar);
  });

  it('keeps nothing of a download whose sha512 does not match (422 hash_mismatch)', async () => {
    await provisioned(102);
    const res = await call(102, 'POST', '/staging', { url: `${files.url}/a.jar`, sha512: sha512(other) });
    expect(res.status).to.equal(422);
    expect(res.body).to.include({ error: 'hash_mismatch', expected: sha512(other), actual: sha512(jar) });
    expect((await readdir(path.join(path.dirname(sim.rootOf(102)), 'staging'))).filter((n) => n.startsWith('fetch-'))).to.deep.equal([]);
  });

  it('answers 502 download_failed for a file the source does not have', async () => {
    await provisioned(103);
    const res = await call(103, 'POST', '/staging', { url: `${files.url}/missing.jar`, sha512: sha512(jar) });
    expect(res).to.deep.equal({ status: 502, body: { error: 'download_failed', status: 404 } });
  });

  it('applies a batch all or nothing: a bad step leaves the folder as it was', async () => {
    const root = await provisioned(104);
    await mkdir(path.join(root, 'mods'), { recursive: true });
    await writeFile(path.join(root, 'mods/old.jar'), 'old');
    const staged = await call(104, 'POST', '/staging', { url: `${files.url}/b.jar`, sha512: sha512(other) });
    const refused = await call(104, 'POST', '/staging/apply', { changes: [
      { delete: { path: 'mods/old.jar' } }, { put: { id: staged.body.id, path: 'mods/b.jar' } }, { move: { from: 'mods/nothing.jar', to: 'mods/x.jar' } },
    ] });
    expect(refused).to.deep.equal({ status: 404, body: { error: 'not_found', path: 'mods/nothing.jar' } });
    expect(await listing(root, 'mods')).to.deep.equal(['old.jar']);
    const escaped = await call(104, 'POST', '/staging/apply', { changes: [{ put: { id: staged.body.id, path: '../../outside.jar' } }] });
    expect(escaped).to.deep.equal({ status: 400, body: { error: 'invalid_path', path: '../../outside.jar' } });
    const ok = await call(104, 'POST', '/staging/apply', { changes: [{ delete: { path: 'mods/old.jar' } }, { put: { id: staged.body.id, path: 'mods/b.jar' } }] });
    expect(ok.status).to.equal(200);
    expect(await listing(root, 'mods')).to.deep.equal(['b.jar']);
  });

  it('discards a staged download, and refuses malformed requests', async () => {
    await provisioned(105);
    const staged = await call(105, 'POST', '/staging', { url: `${files.url}/a.jar`, sha512: sha512(jar) });
    expect((await call(105, 'DELETE', `/staging/${staged.body.id}`)).status).to.equal(204);
    expect((await call(105, 'POST', '/staging/apply', { changes: [{ put: { id: staged.body.id, path: 'mods/a.jar' } }] })).status).to.equal(404);
    expect((await call(105, 'POST', '/staging', { url: 'file:///etc/passwd', sha512: sha512(jar) })).body).to.deep.equal({ error: 'invalid_url', url: 'file:///etc/passwd' });
    expect((await call(105, 'POST', '/staging', { url: `${files.url}/a.jar`, sha512: 'short' })).status).to.equal(400);
  });
});
