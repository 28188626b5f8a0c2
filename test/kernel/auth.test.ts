import { expect } from 'chai';
import emailPlugin from '../../plugins/email';
import { SmtpSink } from '../../plugins/email/testing/smtp-sink';
import { startTestKernel, type TestKernel } from '../harness';

describe('Auth and accounts', () => {
  let tk: TestKernel;
  let smtp: SmtpSink;

  before(async () => {
    smtp = await new SmtpSink().start();
    tk = await startTestKernel({
      plugins: [emailPlugin],
      config: {
        auth: { loginLimit: { perAccount: { max: 3, windowSeconds: 60 }, perAddress: { max: 100000, windowSeconds: 60 } } },
        plugins: { email: { enabled: true, options: { from: 'zpack <no-reply@zpack.test>', transport: 'smtp', smtp: { host: '127.0.0.1', port: smtp.port } } } },
      },
    });
  });
  after(async () => {
    await tk?.stop();
    await smtp?.stop();
  });

  /** Outbox rows to one address; the route writes them before it answers. */
  const outbox = (to: string): Promise<Array<{ template: string }>> =>
    tk.kernel.ds.query(`SELECT template FROM notification WHERE recipient = $1 ORDER BY created_at`, [to]);

  describe('POST /api/auth/register', () => {
    it('creates an account, mails a welcome and never returns its password hash', async () => {
      const res = await tk.http.post('/api/auth/register', { email: 'New.Person@Example.test', password: 'long-enough-pass' });
      expect(res.status).to.equal(201);
      expect(res.body.user).to.include({ email: 'new.person@example.test', role: 'user', billingExempt: false });
      expect(res.text).not.to.match(/argon2|passwordHash/);
      expect(await outbox('new.person@example.test')).to.deep.equal([{ template: 'welcome' }]);
      await smtp.waitFor('new.person@example.test', 'welcome');
    });

    it('answers a known email (any case) exactly as a new one, leaves the account as it was and mails its owner', async () => {
      const known = await tk.user({ email: 'known-00001@example.test' });
      const before = await tk.kernel.ds.query(`SELECT * FROM account WHERE id = $1`, [known.id]);
      const fresh = await tk.http.post('/api/auth/register', { email: 'fresh-00001@example.test', password: 'another-long-password' });
      const again = await tk.http.post('/api/auth/register', { email: 'KNOWN-00001@example.test', password: 'another-long-password' });

      expect(again.status).to.equal(fresh.status).and.equal(201);
      const headerNames = (r: typeof fresh) => [...r.headers.keys()].sort();
      expect(headerNames(again)).to.deep.equal(headerNames(fresh));
      for (const h of ['content-type', 'content-length']) expect(again.headers.get(h), h).to.equal(fresh.headers.get(h));
      expect(Object.keys(again.body)).to.deep.equal(Object.keys(fresh.body));
      expect(Object.keys(again.body.user)).to.deep.equal(Object.keys(fresh.body.user));
      expect(again.body.user).to.include({ email: 'known-00001@example.test', role: 'user', billingExempt: false });
      expect(again.body.user.id).to.match(/^[0-9a-f-]{36}$/).and.not.equal(known.id);

      expect(await tk.kernel.ds.query(`SELECT * FROM account WHERE id = $1`, [known.id])).to.deep.equal(before);
      expect((await tk.http.post('/api/auth/login', { email: known.email, password: 'another-long-password' })).status).to.equal(401);
      expect((await tk.http.post('/api/auth/login', { email: known.email, password: known.password })).status).to.equal(200);

      expect(await outbox('known-00001@example.test')).to.deep.equal([{ template: 'account_exists' }]);
      expect(await outbox('fresh-00001@example.test')).to.deep.equal([{ template: 'welcome' }]);
      const mail = await smtp.waitFor('known-00001@example.test', 'account_exists');
      expect(mail.text).to.match(/already have one/);
    });

    it('mails the owner of a known email at most registerLimit.mailsPerAccount times, answering each attempt alike', async () => {
      const known = await tk.user();
      const attempts = [];
      for (let i = 0; i < 5; i++) attempts.push(await tk.http.post('/api/auth/register', { email: known.email, password: 'another-long-password' }));
      expect(attempts.map((r) => r.status)).to.deep.equal(Array(5).fill(201));
      expect(await outbox(known.email)).to.deep.equal(Array(3).fill({ template: 'account_exists' }));
    });

    it('lists the bad fields of an invalid request', async () => {
      const res = await tk.http.post('/api/auth/register', { email: 'not-an-email', password: 'x' });
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal('invalid_request');
      expect(res.body.error.details.fields.map((f: any) => f.path)).to.include('body.email');
    });
  });

  describe('POST /api/auth/login', () => {
    it('answers 401 for a wrong password and for an unknown email alike', async () => {
      const u = await tk.user();
      const wrong = await tk.http.post('/api/auth/login', { email: u.email, password: 'not-the-password' });
      const unknown = await tk.http.post('/api/auth/login', { email: 'ghost@example.test', password: 'not-the-password' });
      expect(wrong.status).to.equal(401);
      expect(unknown.status).to.equal(401);
      expect(wrong.body.error.message).to.equal(unknown.body.error.message);
    });

    it('rate limits failed logins per account with 429 and Retry-After', async () => {
      const u = await tk.user();
      for (let i = 0; i < 3; i++) {
        expect((await tk.http.post('/api/auth/login', { email: u.email, password: 'wrong-password' })).status).to.equal(401);
      }
      const limited = await tk.http.post('/api/auth/login', { email: u.email, password: u.password });
      expect(limited.status).to.equal(429);
      expect(limited.body.error.code).to.equal('rate_limited');
      expect(Number(limited.headers.get('retry-after'))).to.be.within(1, 60);
    });
  });

  describe('access tokens and sessions', () => {
    it('GET /api/me returns the user, quota and billing', async () => {
      const u = await tk.user();
      const me = await u.http.get('/api/me');
      expect(me.status).to.equal(200);
      expect(me.body.user).to.include({ id: u.id, email: u.email });
      expect(me.body.quota).to.deep.equal({ maxInstances: 3, used: 0 });
      expect(me.body.billing).to.deep.equal({ state: 'active', exempt: false });
    });

    it('rejects a missing, malformed or forged token with 401', async () => {
      expect((await tk.http.get('/api/me')).status).to.equal(401);
      expect((await tk.http.get('/api/me', { token: 'garbage' })).status).to.equal(401);
      const u = await tk.user();
      const [h, p] = u.accessToken.split('.');
      const forged = await tk.http.get('/api/me', { token: `${h}.${p}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA` });
      expect(forged.status).to.equal(401);
      expect(forged.body.error.code).to.equal('unauthenticated');
    });

    it('refuses a refresh token used as an access token', async () => {
      const u = await tk.user();
      expect((await tk.http.get('/api/me', { token: u.refreshToken })).status).to.equal(401);
    });

    it('logout stops the access token at once', async () => {
      const u = await tk.user();
      expect((await u.http.post('/api/auth/logout')).status).to.equal(204);
      const after = await u.http.get('/api/me');
      expect(after.status).to.equal(401);
      expect(after.body.error.message).to.match(/revoked/);
    });

    it('refresh rotates the token; reusing the old one revokes the session', async () => {
      const u = await tk.user();
      const first = await tk.http.post('/api/auth/refresh', { refreshToken: u.refreshToken });
      expect(first.status).to.equal(200);
      expect(first.body.refreshToken).not.to.equal(u.refreshToken);
      expect((await tk.http.get('/api/me', { token: first.body.accessToken })).status).to.equal(200);

      const replay = await tk.http.post('/api/auth/refresh', { refreshToken: u.refreshToken });
      expect(replay.status).to.equal(401);
      expect(replay.body.error.message).to.match(/revoked/);
      expect((await tk.http.get('/api/me', { token: first.body.accessToken })).status, 'new access token dies with the session').to.equal(401);
      expect((await tk.http.post('/api/auth/refresh', { refreshToken: first.body.refreshToken })).status).to.equal(401);
    });
  });

  describe('password reset', () => {
    it('answers 202 for an unknown email and sends nothing', async () => {
      const res = await tk.http.post('/api/auth/password-reset/request', { email: 'nobody@example.test' });
      expect(res.status).to.equal(202);
      // The request has done all it will do once answered: a mail would already be an outbox row.
      expect(await outbox('nobody@example.test')).to.deep.equal([]);
      expect(smtp.messages.filter((m) => m.to.includes('nobody@example.test'))).to.have.length(0);
    });

    it('mails a single-use token that revokes every older session', async () => {
      const u = await tk.user();
      expect((await tk.http.post('/api/auth/password-reset/request', { email: u.email })).status).to.equal(202);
      const mail = await smtp.waitFor(u.email, 'password_reset');
      const token = /token=([A-Za-z0-9_-]+)/.exec(mail.text)![1];

      const confirm = await tk.http.post('/api/auth/password-reset/confirm', { token, password: 'a-brand-new-password' });
      expect(confirm.status).to.equal(204);
      expect((await u.http.get('/api/me')).status, 'old session revoked').to.equal(401);

      const again = await tk.http.post('/api/auth/password-reset/confirm', { token, password: 'yet-another-password' });
      expect(again.status).to.equal(400);
      expect(again.body.error.code).to.equal('invalid_request');

      expect((await tk.http.post('/api/auth/login', { email: u.email, password: u.password })).status).to.equal(401);
      expect((await tk.http.post('/api/auth/login', { email: u.email, password: 'a-brand-new-password' })).status).to.equal(200);
    });

    it('stores the message in the outbox as sent', async () => {
      const rows = await tk.kernel.ds.query(`SELECT state, template FROM notification WHERE template = 'password_reset'`);
      expect(rows.length).to.be.greaterThan(0);
      expect(rows.every((r: any) => r.state === 'sent')).to.equal(true);
    });
  });

  describe('admin routes', () => {
    it('refuses a non-admin with 403 and lets an admin through', async () => {
      const user = await tk.user();
      const admin = await tk.user({ role: 'admin' });
      const denied = await user.http.get('/api/admin/users');
      expect(denied.status).to.equal(403);
      expect(denied.body.error.code).to.equal('forbidden');
      const ok = await admin.http.get('/api/admin/users');
      expect(ok.status).to.equal(200);
      expect(ok.body.users.map((x: any) => x.id)).to.include(user.id);
    });

    it('PATCH /api/admin/users/:id changes the quota that /api/me reports, and audits it', async () => {
      const user = await tk.user();
      const admin = await tk.user({ role: 'admin' });
      const res = await admin.http.patch(`/api/admin/users/${user.id}`, { maxInstances: 7, billingExempt: true });
      expect(res.status).to.equal(200);
      const me = await user.http.get('/api/me');
      expect(me.body.quota.maxInstances).to.equal(7);
      expect(me.body.billing.exempt).to.equal(true);
      const audit = await tk.kernel.ds.query(`SELECT action FROM audit_event WHERE target = $1`, [user.id]);
      expect(audit.map((a: any) => a.action)).to.include('admin.user.update');
    });

    it('answers 404 for an unknown user id', async () => {
      const admin = await tk.user({ role: 'admin' });
      const res = await admin.http.patch('/api/admin/users/00000000-0000-4000-8000-000000000000', { role: 'admin' });
      expect(res.status).to.equal(404);
    });
  });
});

describe('Rate limits per client address', () => {
  let tk: TestKernel;
  before(async () => {
    tk = await startTestKernel({
      config: { auth: { loginLimit: { perAddress: { max: 5, windowSeconds: 60 } }, registerLimit: { perAddress: { max: 30, windowSeconds: 3600 } } } },
    });
  });
  after(async () => tk?.stop());

  it('POST /api/auth/register answers the 31st registration from one address with 429 and Retry-After, and creates nothing', async () => {
    const register = (i: number) => tk.http.post('/api/auth/register', { email: `burst-${i}@example.test`, password: 'long-enough-pass' });
    const first = await Promise.all(Array.from({ length: 30 }, (_, i) => register(i)));
    expect(first.map((r) => r.status)).to.deep.equal(Array(30).fill(201));
    const limited = await register(30);
    expect(limited.status).to.equal(429);
    expect(limited.body.error.code).to.equal('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).to.be.within(1, 3600);
    expect(await tk.kernel.ds.query(`SELECT id FROM account WHERE email = 'burst-30@example.test'`)).to.deep.equal([]);
    expect((await tk.http.post('/api/auth/register', { email: 'burst-0@example.test', password: 'long-enough-pass' })).status, 'a known email alike').to.equal(429);
  });

  it('POST /api/auth/login answers 429 with Retry-After once one address tried N logins, whichever accounts they were for', async () => {
    const emails = Array.from({ length: 6 }, (_, i) => `spread-${i}@example.test`);
    for (const email of emails) await tk.kernel.auth.register(email, 'correct-horse-battery');
    for (const [i, email] of emails.slice(0, 5).entries()) {
      const res = await tk.http.post('/api/auth/login', { email, password: i % 2 ? 'correct-horse-battery' : 'wrong-password' });
      expect(res.status).to.equal(i % 2 ? 200 : 401);
    }
    const limited = await tk.http.post('/api/auth/login', { email: emails[5], password: 'correct-horse-battery' });
    expect(limited.status).to.equal(429);
    expect(limited.body.error.code).to.equal('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).to.be.within(1, 60);
  });
});

describe('Expired access tokens', () => {
  let tk: TestKernel;
  before(async () => { tk = await startTestKernel({ config: { auth: { accessTtlSeconds: 1 } } }); });
  after(async () => tk?.stop());

  it('are refused with 401 once past their lifetime', async () => {
    const u = await tk.user();
    expect((await u.http.get('/api/me')).status).to.equal(200);
    await new Promise((r) => setTimeout(r, 2100));
    const res = await u.http.get('/api/me');
    expect(res.status).to.equal(401);
    expect(res.body.error.message).to.match(/expired/);
  });
});
