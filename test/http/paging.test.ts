import { expect } from 'chai';
import { pageList, pageQuery } from '../../kernel/core/http/paging';
import { startTestKernel, type TestKernel, type TestUser } from '../harness';

/** Inserts `count` live servers for `ownerId` straight into Postgres (creating them through the API would take minutes). */
async function insertServers(tk: TestKernel, ownerId: string, count: number, fields: { type?: string; state?: string } = {}): Promise<string[]> {
  // The account may hold that many: quota is respected, not bypassed.
  await tk.kernel.ds.query(`UPDATE account SET max_instances = COALESCE(max_instances, 0) + $2 WHERE id = $1`, [ownerId, count]);
  const rows = await tk.kernel.ds.query(
    `INSERT INTO instance (owner_id, kind, type, name, state)
     SELECT $1, 'game', $2, 'server-' || n, $3 FROM generate_series(1, $4) AS n RETURNING id`,
    [ownerId, fields.type ?? 'minecraft', fields.state ?? 'running', count],
  );
  return rows.map((r: { id: string }) => r.id);
}

/** Follows nextCursor to the end; returns every page's ids. */
async function allPages(user: TestUser, path: string, plural: string, limit: number, from: string | null = null): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | null = from;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const res: { status: number; text: string; body: any } = await user.http.get(`${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status, res.text).to.equal(200);
    expect(res.body).to.have.keys(plural, 'nextCursor');
    pages.push(res.body[plural].map((x: { id: string }) => x.id));
    cursor = res.body.nextCursor;
  } while (cursor && pages.length < 50);
  return pages;
}

describe('Paged lists (limit, cursor, nextCursor)', () => {
  let tk: TestKernel;
  let owner: TestUser;
  let ids: string[];
  before(async () => {
    tk = await startTestKernel();
    owner = await tk.user();
    ids = await insertServers(tk, owner.id, 250);
  });
  after(async () => tk?.stop());

  it('GET /api/servers pages 250 servers by 100: 100, 100, 50, each exactly once, oldest first', async () => {
    const pages = await allPages(owner, '/api/servers', 'servers', 100);
    expect(pages.map((p) => p.length)).to.deep.equal([100, 100, 50]);
    const seen = pages.flat();
    expect(new Set(seen).size).to.equal(250);
    expect([...seen].sort()).to.deep.equal([...ids].sort());
    // Rows inserted in one statement share created_at: the id breaks the tie, so the order is total.
    const listed = (await owner.http.get('/api/servers?limit=200')).body.servers as Array<{ id: string; createdAt: string }>;
    const keys = listed.map((s) => `${s.createdAt}|${s.id}`);
    expect(keys).to.deep.equal([...keys].sort());
  });

  it('keeps paging exact when servers are created between two pages', async () => {
    const first = await owner.http.get('/api/servers?limit=100');
    const added = await insertServers(tk, owner.id, 3);
    const rest = await allPages(owner, '/api/servers', 'servers', 100, first.body.nextCursor);
    const seen = [...first.body.servers.map((s: { id: string }) => s.id), ...rest.flat()];
    expect(new Set(seen).size).to.equal(seen.length);
    expect(seen).to.include.members([...ids, ...added]);
    await tk.kernel.ds.query(`DELETE FROM instance WHERE id = ANY($1)`, [added]);
  });

  it('defaults to 50 and refuses a limit over 200', async () => {
    const res = await owner.http.get('/api/servers');
    expect(res.body.servers).to.have.length(50);
    expect(res.body.nextCursor).to.be.a('string');
    const over = await owner.http.get('/api/servers?limit=201');
    expect(over.status).to.equal(400);
    expect(over.body.error.details.fields[0].path).to.equal('query.limit');
  });

  for (const cursor of ['not-a-cursor!', 'e30', Buffer.from('{"t":"1","id":"x y"}').toString('base64url'), Buffer.from('[1,2]').toString('base64url'), 'A'.repeat(300)]) {
    it(`answers 400 on query.cursor for a malformed cursor (${cursor.slice(0, 20)})`, async () => {
      const res = await owner.http.get(`/api/servers?cursor=${encodeURIComponent(cursor)}`);
      expect(res.status, res.text).to.equal(400);
      expect(res.body.error.code).to.equal('invalid_request');
      expect(res.body.error.details.fields[0].path).to.equal('query.cursor');
    });
  }

  it('answers 400 for an unknown query parameter instead of ignoring it', async () => {
    const res = await owner.http.get('/api/servers?limit=10&colour=blue');
    expect(res.status).to.equal(400);
    expect(res.body.error.code).to.equal('invalid_request');
    expect(res.body.error.details.fields[0]).to.deep.equal({ path: 'query', message: 'Unrecognized keys: "colour"' });
  });

  it('answers 400 for any query parameter on a route that declares none', async () => {
    const res = await owner.http.get('/api/me?verbose=1');
    expect(res.status).to.equal(400);
    expect(res.body.error.details.fields[0].message).to.equal('Unrecognized keys: "verbose"');
  });

  it('filters servers by state, type and since, and pages the filtered list', async () => {
    const other = await tk.user();
    await insertServers(tk, other.id, 3, { state: 'stopped' });
    const dev = await insertServers(tk, other.id, 2, { type: 'codeserver', state: 'stopped' });
    expect((await other.http.get('/api/servers?state=stopped')).body.servers).to.have.length(5);
    expect((await other.http.get('/api/servers?type=codeserver')).body.servers.map((s: { id: string }) => s.id).sort()).to.deep.equal([...dev].sort());
    const pages = await allPages(other, '/api/servers?state=stopped', 'servers', 2);
    expect(pages.map((p) => p.length)).to.deep.equal([2, 2, 1]);
    expect((await other.http.get('/api/servers?since=2999-01-01T00:00:00Z')).body.servers).to.deep.equal([]);
    expect((await other.http.get('/api/servers?state=exploded')).status).to.equal(400);
  });

  it('lists a server exactly as GET /api/servers/:id shows it, times cut to the millisecond', async () => {
    const other = await tk.user();
    const [id] = await insertServers(tk, other.id, 1);
    await tk.kernel.ds.query(
      `UPDATE instance SET vmid = 5123, node = 'pve2', ports = '[{"name": "game", "port": 25565, "protocol": "tcp"}]',
              created_at = '2026-01-02 03:04:05.678999+00', updated_at = '2026-01-02 04:05:06.000001+02' WHERE id = $1`,
      [id],
    );
    const alone = (await other.http.get(`/api/servers/${id}`)).body.server;
    expect(alone).to.include({ vmid: 5123, node: 'pve2', createdAt: '2026-01-02T03:04:05.678Z', updatedAt: '2026-01-02T02:05:06.000Z' });
    expect((await other.http.get('/api/servers')).body.servers).to.deep.equal([alone]);
    const admin = await tk.user({ role: 'admin' });
    const listed = (await admin.http.get('/api/admin/servers?limit=200')).body.servers.find((s: { id: string }) => s.id === id);
    expect(listed).to.deep.equal({ ...alone, ownerId: other.id });
  });

  it('GET /api/operations pages newest first and filters by state', async () => {
    const values = Array.from({ length: 7 }, (_, n) => `($1, 'create', '${n % 2 ? 'failed' : 'succeeded'}', 'done', now() + interval '${n} seconds', now() + interval '1 hour')`);
    await tk.kernel.ds.query(`INSERT INTO provisioning_operation (account_id, kind, state, phase, created_at, deadline_at) VALUES ${values.join(', ')}`, [owner.id]);
    const pages = await allPages(owner, '/api/operations', 'operations', 3);
    expect(pages.map((p) => p.length)).to.deep.equal([3, 3, 1]);
    const all = (await owner.http.get('/api/operations?limit=10')).body.operations as Array<{ id: string; createdAt: string }>;
    expect(pages.flat()).to.deep.equal(all.map((o) => o.id));
    expect(all.map((o) => o.createdAt)).to.deep.equal(all.map((o) => o.createdAt).sort().reverse());
    expect((await owner.http.get('/api/operations?state=failed')).body.operations).to.have.length(3);
  });

  it('GET /api/admin/servers and /api/admin/users page with the same cursor rules', async () => {
    const admin = await tk.user({ role: 'admin' });
    const servers = await allPages(admin, '/api/admin/servers', 'servers', 200);
    expect(servers.flat()).to.include.members(ids);
    expect(new Set(servers.flat()).size).to.equal(servers.flat().length);
    const users = await allPages(admin, '/api/admin/users', 'users', 1);
    expect(users.flat()).to.include.members([owner.id, admin.id]);
    expect((await admin.http.get('/api/admin/users?offset=10')).status).to.equal(400);
  });
});

describe('pageList (lists an agent answers, e.g. backups)', () => {
  const backups = ['b', 'a', 'c', 'e', 'd'].map((id, n) => ({ id: `backup-${id}`, createdAt: `2026-01-0${1 + (n % 2)}T00:00:00.000Z` }));
  const query = pageQuery({});

  it('pages newest first (ties in the same order on the id), each item exactly once', () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 5; i++) {
      const page = pageList(backups, query.parse({ limit: '2', ...(cursor ? { cursor } : {}) }), (b) => ({ at: b.createdAt, id: b.id }), 'DESC');
      seen.push(...page.items.map((b) => b.id));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(seen).to.deep.equal(['backup-e', 'backup-a', 'backup-d', 'backup-c', 'backup-b']);
  });

  it('refuses its cursors on a list of rows (400 on query.cursor, not a database error)', async () => {
    const cursor = pageList(backups, query.parse({ limit: '1' }), (b) => ({ at: b.createdAt, id: b.id }), 'DESC').nextCursor!;
    const tk = await startTestKernel();
    try {
      const user = await tk.user();
      const res = await user.http.get(`/api/servers?cursor=${cursor}`);
      expect(res.status).to.equal(400);
      expect(res.body.error.details.fields[0].path).to.equal('query.cursor');
    } finally {
      await tk.stop();
    }
  });
});
