import { expect } from 'chai';
import type { TestKernel, TestUser } from '../harness';
import { gameServer } from '../files/api-fixture';
import { startFleet, startFleetKernel, type Fleet } from '../provisioning/fixture';
import { PORTAL, closed, connect, nextMessage } from '../console/client';
import { apiKey, subuser } from './fixture';

describe('Sharing a server: invitations, subuser permissions, API keys and the activity log', function () {
  this.timeout(60_000);
  let fleet: Fleet;
  let tk: TestKernel;
  let owner: TestUser;
  let serverId: string;

  before(async () => {
    fleet = await startFleet();
    tk = await startFleetKernel(fleet, {
      config: { console: { allowedOrigins: [PORTAL] }, management: { apiKeys: { rateLimit: { max: 40, windowSeconds: 60 } } } },
    });
    owner = await tk.user();
    serverId = (await gameServer(owner, 'sharing')).id;
  });
  after(async () => {
    await tk?.stop();
    await fleet?.stop();
  });

  const files = (id = serverId) => `/api/servers/${id}/files`;

  describe('invitations', () => {
    it('emails the invitee, who sees the invitation, accepts it, and then finds the server among theirs without using their quota', async () => {
      const guest = await tk.user();
      const invited = await owner.http.post(`/api/servers/${serverId}/subusers`, { email: guest.email.toUpperCase(), permissions: ['files.read', 'console'] });
      expect(invited.status, invited.text).to.equal(201);
      expect(invited.body.subuser).to.include({ email: guest.email, state: 'invited', accountId: null });
      const outbox = await tk.kernel.ds.query(`SELECT template FROM notification WHERE recipient = $1`, [guest.email]);
      expect(outbox).to.deep.include({ template: 'server_invitation' });
      expect((await guest.http.get(files())).status).to.equal(404);

      const listed = await guest.http.get('/api/me/invitations');
      expect(listed.body.invitations).to.have.length(1);
      expect(listed.body.invitations[0]).to.deep.include({ id: invited.body.subuser.id, server: { id: serverId, name: 'Survival' }, permissions: ['files.read', 'console'] });
      const accepted = await guest.http.post(`/api/me/invitations/${invited.body.subuser.id}/accept`);
      expect(accepted.body.subuser).to.include({ state: 'accepted', accountId: guest.id });

      expect((await guest.http.get('/api/servers')).body.servers.map((s: any) => s.id)).to.deep.equal([serverId]);
      expect((await guest.http.get('/api/me')).body.quota.used).to.equal(0);
      expect((await guest.http.get(`${files()}?path=/`)).status).to.equal(200);
      expect((await guest.http.get('/api/me/invitations')).body.invitations).to.deep.equal([]);
    });

    it('a declined invitation is gone and grants nothing; someone else cannot accept it', async () => {
      const guest = await tk.user();
      const other = await tk.user();
      const invited = await owner.http.post(`/api/servers/${serverId}/subusers`, { email: guest.email, permissions: ['files.read'] });
      expect((await other.http.post(`/api/me/invitations/${invited.body.subuser.id}/accept`)).status).to.equal(404);
      expect((await guest.http.post(`/api/me/invitations/${invited.body.subuser.id}/decline`)).status).to.equal(204);
      expect((await guest.http.post(`/api/me/invitations/${invited.body.subuser.id}/accept`)).status).to.equal(404);
      expect((await guest.http.get(`${files()}?path=/`)).status).to.equal(404);
    });

    it('refuses inviting the same address twice (409) and the owner themself (400)', async () => {
      const guest = await tk.user();
      expect((await owner.http.post(`/api/servers/${serverId}/subusers`, { email: guest.email, permissions: [] })).status).to.equal(201);
      expect((await owner.http.post(`/api/servers/${serverId}/subusers`, { email: guest.email, permissions: [] })).status).to.equal(409);
      expect((await owner.http.post(`/api/servers/${serverId}/subusers`, { email: owner.email, permissions: [] })).status).to.equal(400);
      expect((await owner.http.post(`/api/servers/${serverId}/subusers`, { email: 'x@y.test', permissions: ['root'] })).status).to.equal(400);
    });

    it('limits the invitations one account sends (each mails an address it chose): inviting and removing in a loop ends in 429, mailing no more', async () => {
      const spammer = await tk.user();
      const own = (await gameServer(spammer, 'sharing-spam')).id;
      const { max } = tk.config.management.invitations.rateLimit;
      const invite = (n: number) => spammer.http.post(`/api/servers/${own}/subusers`, { email: `target-${n}@elsewhere.test`, permissions: [] });
      for (let n = 0; n < max; n++) {
        const res = await invite(n);
        expect(res.status, res.text).to.equal(201);
        expect(res.headers.get('ratelimit-remaining')).to.equal(String(max - n - 1));
        expect((await spammer.http.delete(`/api/servers/${own}/subusers/${res.body.subuser.id}`)).status).to.equal(204);
      }
      const refused = await invite(max);
      expect(refused.status, refused.text).to.equal(429);
      expect(refused.body.error.code).to.equal('rate_limited');
      expect(Number(refused.headers.get('retry-after'))).to.be.above(0);
      const mailed = await tk.kernel.ds.query(`SELECT count(*)::int AS n FROM notification WHERE template = 'server_invitation' AND recipient LIKE 'target-%@elsewhere.test'`);
      expect(mailed[0].n).to.equal(max);
      expect((await owner.http.post(`/api/servers/${serverId}/subusers`, { email: 'someone-else@zpack.test', permissions: [] })).status, 'another account keeps its own allowance').to.equal(201);
    });
  });

  describe('subuser permissions', () => {
    it('a subuser without files.write reads but cannot write (403), and sees 404 for a server not shared with them', async () => {
      const reader = await subuser(tk, owner, serverId, ['files.read']);
      const elsewhere = await gameServer(owner, 'not-shared');
      expect((await reader.http.get(`${files()}/content?path=server.properties`)).status).to.equal(200);
      const write = await reader.http.request('PUT', `${files()}/content?path=server.properties`, { body: 'motd=mine\n', headers: { 'content-type': 'text/plain' } });
      expect(write.status).to.equal(403);
      expect(write.body.error).to.deep.include({ code: 'forbidden', details: { permission: 'files.write' } });
      expect((await reader.http.get(`${files(elsewhere.id)}?path=/`)).status).to.equal(404);
      expect((await reader.http.get(`/api/servers/${elsewhere.id}`)).status).to.equal(404);
    });

    it('a subuser cannot raise their own permissions (403) nor share the server further; the owner changes them at once', async () => {
      const guest = await subuser(tk, owner, serverId, ['files.read']);
      const raise = await guest.http.patch(`/api/servers/${serverId}/subusers/${guest.subuserId}`, { permissions: ['files.read', 'files.write', 'settings'] });
      expect(raise.status).to.equal(403);
      expect((await guest.http.post(`/api/servers/${serverId}/subusers`, { email: 'friend@zpack.test', permissions: ['console'] })).status).to.equal(403);
      expect((await guest.http.get(`/api/servers/${serverId}/subusers`)).status).to.equal(403);
      const changed = await owner.http.patch(`/api/servers/${serverId}/subusers/${guest.subuserId}`, { permissions: ['files.read', 'files.write'] });
      expect(changed.body.subuser.permissions).to.deep.equal(['files.read', 'files.write']);
      const write = await guest.http.request('PUT', `${files()}/content?path=notes.txt`, { body: 'hello', headers: { 'content-type': 'text/plain' } });
      expect(write.status, write.text).to.equal(200);
    });

    it('a subuser’s server status shows no billing; the owner’s does', async () => {
      const guest = await subuser(tk, owner, serverId, []);
      expect((await guest.http.get(`/api/servers/${serverId}/status`)).body.billing).to.equal(null);
      expect((await owner.http.get(`/api/servers/${serverId}/status`)).body.billing).to.deep.equal({ state: 'active' });
    });

    it('revoking a subuser closes their open console at once (4403) and leaves the owner’s open', async () => {
      const guest = await subuser(tk, owner, serverId, ['console']);
      const open = async (user: TestUser) => {
        const ticket = await user.http.post(`/api/servers/${serverId}/console/ticket`);
        expect(ticket.status, ticket.text).to.equal(200);
        const { ws } = await connect(`${tk.url.replace('http', 'ws')}/api/servers/${serverId}/console?ticket=${ticket.body.ticket}`);
        await nextMessage(ws!, /./);
        return ws!;
      };
      const theirs = await open(guest);
      const mine = await open(owner);
      const end = closed(theirs);
      expect((await owner.http.delete(`/api/servers/${serverId}/subusers/${guest.subuserId}`)).status).to.equal(204);
      const { code, reason, ms } = await end;
      expect({ code, reason }).to.deep.equal({ code: 4403, reason: 'access revoked' });
      expect(ms).to.be.lessThan(1000);
      mine.send('say still mine');
      expect(await nextMessage(mine, /still mine/)).to.match(/still mine/);
      mine.close();
      expect((await guest.http.post(`/api/servers/${serverId}/console/ticket`)).status).to.equal(404);
    });

    it('taking the console permission away closes that subuser’s console too', async () => {
      const guest = await subuser(tk, owner, serverId, ['console', 'files.read']);
      const ticket = await guest.http.post(`/api/servers/${serverId}/console/ticket`);
      const { ws } = await connect(`${tk.url.replace('http', 'ws')}/api/servers/${serverId}/console?ticket=${ticket.body.ticket}`);
      await nextMessage(ws!, /./);
      const end = closed(ws!);
      await owner.http.patch(`/api/servers/${serverId}/subusers/${guest.subuserId}`, { permissions: ['files.read'] });
      expect((await end).code).to.equal(4403);
    });
  });

  describe('personal API keys', () => {
    it('shows the secret once and keeps only its hash; the list shows the prefix, never the secret', async () => {
      const res = await owner.http.post('/api/me/api-keys', { name: 'ci', scopes: ['servers.read'] });
      expect(res.status).to.equal(201);
      expect(res.body.secret).to.match(/^zpk_[A-Za-z0-9_-]{40}$/);
      expect(res.body.secret.startsWith(res.body.apiKey.prefix)).to.equal(true);
      const [row] = await tk.kernel.ds.query(`SELECT secret_hash FROM api_key WHERE id = $1`, [res.body.apiKey.id]);
      expect(row.secret_hash).to.have.length(64).and.not.include(res.body.secret);
      const listed = await owner.http.get('/api/me/api-keys');
      expect(listed.text).not.to.include(res.body.secret);
      expect(listed.body.apiKeys.find((k: any) => k.id === res.body.apiKey.id)).to.include({ prefix: res.body.apiKey.prefix, lastUsedAt: null });
    });

    it('a key with files.read reads files but cannot write them (403)', async () => {
      const key = tk.http.as(await apiKey(owner, ['files.read']));
      expect((await key.get(`${files()}/content?path=server.properties`)).status).to.equal(200);
      const write = await key.request('PUT', `${files()}/content?path=server.properties`, { body: 'motd=key\n', headers: { 'content-type': 'text/plain' } });
      expect(write.status).to.equal(403);
      expect(write.body.error.details).to.deep.equal({ scope: 'files.write' });
      expect((await key.post(`${files()}/rename`, { from: 'eula.txt', to: 'eula2.txt' })).status).to.equal(403);
    });

    it('records the last use and its address, and sends the RateLimit headers on every answer', async () => {
      const secret = await apiKey(owner, ['servers.read']);
      const res = await tk.http.as(secret).get('/api/servers');
      expect(res.status).to.equal(200);
      expect(res.headers.get('ratelimit-limit')).to.equal('40');
      expect(Number(res.headers.get('ratelimit-remaining'))).to.equal(39);
      expect(Number(res.headers.get('ratelimit-reset'))).to.be.within(1, 60);
      const listed = (await owner.http.get('/api/me/api-keys')).body.apiKeys.find((k: any) => secret.startsWith(k.prefix));
      expect(listed.lastUsedAt).to.be.a('string');
      expect(listed.lastUsedIp).to.match(/127\.0\.0\.1/);
    });

    it('answers 429 with Retry-After past the key’s rate', async () => {
      const key = tk.http.as(await apiKey(owner, ['servers.read']));
      for (let i = 0; i < 40; i++) expect((await key.get('/api/servers')).status).to.equal(200);
      const over = await key.get('/api/servers');
      expect(over.status).to.equal(429);
      expect(Number(over.headers.get('retry-after'))).to.be.above(0);
      expect(over.headers.get('ratelimit-remaining')).to.equal('0');
    });

    it('refuses a key from an address it does not allow (403), and accepts it from one it does', async () => {
      const elsewhere = tk.http.as(await apiKey(owner, ['servers.read'], { allowedIps: ['10.0.0.0/8', '2001:db8::/32'] }));
      const res = await elsewhere.get('/api/servers');
      expect(res.status).to.equal(403);
      expect(res.body.error.code).to.equal('forbidden');
      const here = tk.http.as(await apiKey(owner, ['servers.read'], { allowedIps: ['127.0.0.1', '::1'] }));
      expect((await here.get('/api/servers')).status).to.equal(200);
      expect((await owner.http.post('/api/me/api-keys', { name: 'bad', scopes: ['servers.read'], allowedIps: ['10.0.0.0/33'] })).status).to.equal(400);
    });

    it('refuses a key outside its scopes on account routes, and on the key routes themselves', async () => {
      const key = tk.http.as(await apiKey(owner, ['servers.read']));
      expect((await key.get('/api/me')).status).to.equal(403);
      expect((await key.post('/api/me/api-keys', { name: 'more', scopes: ['files.write'] })).status).to.equal(403);
      expect((await key.get('/api/me/api-keys')).status).to.equal(403);
      const account = tk.http.as(await apiKey(owner, ['account.read']));
      expect((await account.get('/api/me')).body.user).to.deep.equal({ id: owner.id, email: owner.email, role: 'user', billingExempt: false });
    });

    it('admin keys need the admin role, and reach admin routes only with the admin scope', async () => {
      expect((await owner.http.post('/api/me/api-keys', { name: 'root', scopes: ['admin'] })).status).to.equal(403);
      const admin = await tk.user({ role: 'admin' });
      const adminKey = tk.http.as(await apiKey(admin, ['admin']));
      expect((await adminKey.get('/api/admin/servers')).status).to.equal(200);
      const plainKey = tk.http.as(await apiKey(admin, ['servers.read']));
      expect((await plainKey.get('/api/admin/servers')).status).to.equal(403);
    });

    it('an admin\'s key reaches customers\' servers only with the admin scope: without it, only what the admin\'s own account holds (404)', async () => {
      const admin = await tk.user({ role: 'admin' });
      const plain = tk.http.as(await apiKey(admin, ['servers.read', 'servers.write', 'files.read']));
      for (const [method, path] of [['GET', `/api/servers/${serverId}`], ['GET', `${files()}?path=/`], ['POST', `/api/servers/${serverId}/power`]] as const) {
        const res = await plain.request(method, path, { body: method === 'POST' ? { action: 'stop' } : undefined });
        expect(res.status, `${method} ${path}: ${res.text}`).to.equal(404);
      }
      const operator = tk.http.as(await apiKey(admin, ['servers.read', 'files.read', 'admin']));
      expect((await operator.get(`/api/servers/${serverId}`)).status).to.equal(200);
      expect((await operator.get(`${files()}?path=/`)).status).to.equal(200);
      expect((await admin.http.get(`/api/servers/${serverId}`)).status, 'the admin\'s login session').to.equal(200);
    });

    it('a revoked or expired key stops working at once (401)', async () => {
      const made = await owner.http.post('/api/me/api-keys', { name: 'short', scopes: ['servers.read'] });
      const key = tk.http.as(made.body.secret);
      expect((await key.get('/api/servers')).status).to.equal(200);
      expect((await owner.http.delete(`/api/me/api-keys/${made.body.apiKey.id}`)).status).to.equal(204);
      expect((await key.get('/api/servers')).status).to.equal(401);
      const soon = await owner.http.post('/api/me/api-keys', { name: 'soon', scopes: ['servers.read'], expiresAt: new Date(Date.now() + 1500).toISOString() });
      await new Promise((r) => setTimeout(r, 1600));
      expect((await tk.http.as(soon.body.secret).get('/api/servers')).status).to.equal(401);
      expect((await tk.http.as(`${soon.body.secret.slice(0, -1)}x`).get('/api/servers')).status).to.equal(401);
    });

    it('a key with the console scope opens a console, its commands recorded as the key’s; revoking the key closes it (4401)', async () => {
      expect((await tk.http.as(await apiKey(owner, ['servers.read'])).post(`/api/servers/${serverId}/console/ticket`)).status).to.equal(403);
      const made = await owner.http.post('/api/me/api-keys', { name: 'console', scopes: ['console'] });
      const key = tk.http.as(made.body.secret);
      const ticket = await key.post(`/api/servers/${serverId}/console/ticket`);
      expect(ticket.status, ticket.text).to.equal(200);
      const { ws } = await connect(`${tk.url.replace('http', 'ws')}/api/servers/${serverId}/console?ticket=${ticket.body.ticket}`);
      await nextMessage(ws!, /./);
      ws!.send('say typed-by-key\r');
      await nextMessage(ws!, /typed-by-key/);
      const typed = async () => ((await owner.http.get(`/api/servers/${serverId}/activity?event=console.*`)).body.activity as any[])
        .find((e) => e.properties.command === 'say typed-by-key');
      let entry = await typed();
      for (let i = 0; i < 50 && !entry; i++) {
        await new Promise((r) => setTimeout(r, 50));
        entry = await typed();
      }
      expect(entry.actor).to.deep.equal({ type: 'apiKey', id: made.body.apiKey.id });

      // A ticket issued before the key was revoked opens nothing afterwards.
      const unused = await key.post(`/api/servers/${serverId}/console/ticket`);
      const end = closed(ws!);
      expect((await owner.http.delete(`/api/me/api-keys/${made.body.apiKey.id}`)).status).to.equal(204);
      expect(await end).to.include({ code: 4401, reason: 'session revoked: API key revoked' });
      const late = await connect(`${tk.url.replace('http', 'ws')}/api/servers/${serverId}/console?ticket=${unused.body.ticket}`);
      expect(late.status).to.equal(401);
    });
  });

  describe('activity log', () => {
    it('records who did what from where: a subuser’s file write, an API key’s rename, a console command without its output', async () => {
      const writer = await subuser(tk, owner, serverId, ['files.write', 'files.read', 'console']);
      const put = await writer.http.request('PUT', `${files()}/content?path=activity.txt`, { body: 'one', headers: { 'content-type': 'text/plain' } });
      expect(put.status).to.equal(200);
      const key = tk.http.as(await apiKey(owner, ['files.write']));
      expect((await key.post(`${files()}/rename`, { from: 'activity.txt', to: 'activity-moved.txt' })).status).to.equal(200);
      const ticket = await writer.http.post(`/api/servers/${serverId}/console/ticket`);
      const { ws } = await connect(`${tk.url.replace('http', 'ws')}/api/servers/${serverId}/console?ticket=${ticket.body.ticket}`);
      await nextMessage(ws!, /./);
      ws!.send('say secret-output-check\r');
      await nextMessage(ws!, /secret-output-check/);
      ws!.close();

      const log = async () => (await owner.http.get(`/api/servers/${serverId}/activity`)).body.activity as any[];
      let entries = await log();
      // The command is recorded after it reached the agent; other consoles of this server may have recorded theirs before.
      const typed = (e: any) => e.event === 'console.command' && e.properties.command === 'say secret-output-check';
      for (let i = 0; i < 50 && !entries.some(typed); i++) {
        await new Promise((r) => setTimeout(r, 50));
        entries = await log();
      }
      const write = entries.find((e) => e.event === 'files.write' && e.properties.path === 'activity.txt');
      expect(write.actor).to.deep.equal({ type: 'subuser', id: writer.id });
      expect(write.ip).to.match(/127\.0\.0\.1/);
      const rename = entries.find((e) => e.event === 'files.rename');
      expect(rename.actor.type).to.equal('apiKey');
      expect(rename.properties).to.deep.equal({ from: 'activity.txt', to: 'activity-moved.txt' });
      const command = entries.find(typed);
      expect(command).to.deep.include({ actor: { type: 'subuser', id: writer.id }, properties: { command: 'say secret-output-check' } });
      expect(JSON.stringify(entries)).not.to.include('[Server]');

      const filtered = (await owner.http.get(`/api/servers/${serverId}/activity?event=files.*`)).body.activity as any[];
      expect(filtered.length).to.be.above(1);
      expect(filtered.every((e) => e.event.startsWith('files.'))).to.equal(true);
      const mine = (await writer.http.get('/api/me/activity')).body.activity as any[];
      expect(mine.map((e) => e.event)).to.include.members(['files.write', 'console.command', 'subuser.accept']);
      expect((await writer.http.get(`/api/servers/${serverId}/activity`)).status).to.equal(403);
      expect((await owner.http.get(`/api/servers/${serverId}/activity?unknown=1`)).status).to.equal(400);
    });
  });
});
