import { expect } from 'chai';
import { connect } from 'node:net';
import { SignJWT, decodeJwt } from 'jose';
import { z } from 'zod';
import { InvalidRequestError } from '../../kernel/api';
import { invalidRequest } from '../../kernel/core/http/issues';
import { requestHash } from '../../kernel/core/operations/request';
import minecraftPlugin from '../../plugins/minecraft';
import { startTestKernel, type TestKernel, type TestUser } from '../harness';

/** `{"a":{"a":…}}` nested `depth` objects deep, as raw JSON text. */
const nested = (depth: number, leaf = '1') => '{"a":'.repeat(depth) + leaf + '}'.repeat(depth);

/** One HTTP exchange on a raw socket: whatever the server sends until it closes the connection. */
function rawExchange(port: number, drive: (write: (text: string) => void, socket: ReturnType<typeof connect>) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => { received += chunk.toString('utf8'); });
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
    socket.on('connect', () => drive((text) => socket.write(text), socket));
  });
}

const jsonHead = (path: string, length: number, extra = '') =>
  `POST ${path} HTTP/1.1\r\nHost: zpack.test\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${extra}\r\n`;

describe('HTTP input limits', () => {
  let tk: TestKernel;
  let user: TestUser;
  before(async () => {
    tk = await startTestKernel({
      plugins: [minecraftPlugin],
      config: {
        // The HTTP layer alone: no provision worker (it would need a host and an agent).
        role: 'api',
        server: { timeouts: { jsonBodyIdleMs: 200, jsonBodyMs: 800 } },
        plugins: { minecraft: { enabled: true } },
      },
    });
    user = await tk.user();
  });
  after(async () => tk?.stop());

  const createWith = (raw: string, key = `k-${Math.random()}`) =>
    user.http.request('POST', '/api/instances', { raw, headers: { 'content-type': 'application/json', 'idempotency-key': key } });

  describe('JSON bodies', () => {
    it('answers 400 to options nested 10,000 deep on POST /api/instances, and creates nothing', async () => {
      const res = await createWith(`{"kind":"game","type":"minecraft","name":"deep","options":${nested(10_000)}}`);
      expect(res.status, res.text).to.equal(400);
      expect(res.body.error.code).to.equal('invalid_request');
      expect(res.body.error.details.fields[0].message).to.match(/nested deeper than 32/);
      expect((await user.http.get('/api/operations')).body.operations).to.deep.equal([]);
    });

    it('answers 400 to a body nested 10,000 deep on POST /api/auth/login and PATCH /api/admin/users/:id', async () => {
      const login = await tk.http.request('POST', '/api/auth/login', { raw: `{"email":"a@b.test","password":${nested(10_000, '"x"')}}`, headers: { 'content-type': 'application/json' } });
      expect(login.status, login.text).to.equal(400);
      const admin = await tk.user({ role: 'admin' });
      const patch = await admin.http.request('PATCH', `/api/admin/users/${user.id}`, { raw: nested(10_000), headers: { 'content-type': 'application/json' } });
      expect(patch.status, patch.text).to.equal(400);
      expect(patch.body.error.details.fields[0].message).to.match(/nested deeper than 32/);
    });

    it('lets 32 levels through to the route’s own validation, and refuses 33', async () => {
      const res = await tk.http.request('POST', '/api/auth/login', { raw: nested(32), headers: { 'content-type': 'application/json' } });
      expect(res.status).to.equal(400);
      expect(res.body.error.message).to.equal('Invalid body');
      const deeper = await tk.http.request('POST', '/api/auth/login', { raw: nested(33), headers: { 'content-type': 'application/json' } });
      expect(deeper.body.error.details.fields[0].message).to.match(/nested deeper than 32/);
    });

    it('refuses NUL and unpaired surrogates in any string, keys included, naming where', async () => {
      const bodies: Array<[string, string]> = [
        ['{"email":"a\\u0000@b.test","password":"x"}', 'body.email'],
        ['{"email":"a@b.test","password":"x","\\u0000":1}', 'body.\u0000'],
        ['{"email":"a@b.test","password":["ok","\\udc00"]}', 'body.password.1'],
      ];
      for (const [raw, path] of bodies) {
        const res = await tk.http.request('POST', '/api/auth/register', { raw, headers: { 'content-type': 'application/json' } });
        expect(res.status, raw).to.equal(400);
        expect(res.body.error.code).to.equal('invalid_request');
        expect(res.body.error.details.fields[0].path).to.equal(path);
      }
      const stored = await tk.kernel.ds.query(`SELECT count(*)::int AS n FROM account WHERE email LIKE 'a%@b.test'`);
      expect(stored[0].n).to.equal(0);
    });

    it('the request hash refuses nesting it would have to recurse into without bound', () => {
      const deep = JSON.parse(nested(10_000));
      expect(() => requestHash(deep)).to.throw(InvalidRequestError);
      expect(requestHash({ b: 1, a: [1, { c: 2 }] })).to.equal(requestHash({ a: [1, { c: 2 }], b: 1 }));
    });
  });

  describe('error details', () => {
    it('answers 90,000 unknown option keys with a short 400', async () => {
      const options = Object.fromEntries([...Array(90_000).keys()].map((i) => [`k${i}`, 1]));
      const res = await createWith(JSON.stringify({ kind: 'game', type: 'minecraft', name: 'wide', options }));
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal('invalid_request');
      expect(res.text.length).to.be.below(2048);
      expect(res.body.error.details.fields[0].message).to.match(/^Unrecognized keys: "k0", .* and 89995 more$/);
    });

    it('lists the first 20 problems and counts the rest', () => {
      const parsed = z.array(z.string()).safeParse([...Array(1000).keys()]);
      const err = invalidRequest('Invalid body', parsed.error!, 'body');
      expect(err.details.fields).to.have.length(20);
      expect(err.details.omittedIssues).to.equal(980);
    });
  });

  describe('headers', () => {
    it('every answer says X-Content-Type-Options: nosniff', async () => {
      for (const res of [await tk.http.get('/healthz'), await tk.http.get('/api/none'), await tk.http.get('/api/me'), await user.http.get('/api/me')]) {
        expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
      }
    });

    it('a 401 names the Bearer scheme', async () => {
      for (const res of [await tk.http.get('/api/me'), await tk.http.get('/api/me', { token: 'forged' })]) {
        expect(res.status).to.equal(401);
        expect(res.headers.get('www-authenticate')).to.equal('Bearer');
      }
    });

    it('token answers (login, refresh) are never stored by caches', async () => {
      const login = await tk.http.post('/api/auth/login', { email: user.email, password: user.password });
      expect(login.status).to.equal(200);
      expect(login.headers.get('cache-control')).to.equal('no-store');
      const refresh = await tk.http.post('/api/auth/refresh', { refreshToken: login.body.refreshToken });
      expect(refresh.status).to.equal(200);
      expect(refresh.headers.get('cache-control')).to.equal('no-store');
    });

    it('an Idempotency-Key that is present but malformed is called invalid, not missing', async () => {
      const body = JSON.stringify({ kind: 'game', type: 'minecraft', name: 'keyed' });
      const bad = await createWith(body, 'has spaces');
      expect(bad.status).to.equal(400);
      expect(bad.body.error.message).to.equal('Idempotency-Key header is invalid: printable ASCII without spaces');
      const long = await createWith(body, 'k'.repeat(201));
      expect(long.body.error.message).to.match(/^Idempotency-Key header is invalid: /);
      const missing = await user.http.request('POST', '/api/instances', { raw: body, headers: { 'content-type': 'application/json' } });
      expect(missing.body.error.message).to.equal('Idempotency-Key header is required');
    });
  });

  describe('access tokens', () => {
    /** The user's own token, re-signed with the real secret but only the given claims. */
    async function resigned(claims: { exp?: boolean; iat?: boolean; sub?: boolean; sid?: boolean; pur?: boolean }): Promise<string> {
      const real = decodeJwt(user.accessToken);
      const jwt = new SignJWT({ ...(claims.sid ? { sid: real.sid } : {}), ...(claims.pur ? { pur: 'access' } : {}) })
        .setProtectedHeader({ alg: 'HS256' }).setIssuer('zpack');
      if (claims.sub) jwt.setSubject(real.sub!);
      if (claims.iat) jwt.setIssuedAt();
      if (claims.exp) jwt.setExpirationTime('5m');
      return jwt.sign(new TextEncoder().encode(tk.config.auth.jwtSecret));
    }
    const all = { exp: true, iat: true, sub: true, sid: true, pur: true };

    it('are accepted with every claim the kernel signs', async () => {
      expect((await tk.http.get('/api/me', { token: await resigned(all) })).status).to.equal(200);
    });

    for (const claim of ['exp', 'iat', 'sub', 'sid', 'pur'] as const) {
      it(`are refused with 401 without "${claim}"`, async () => {
        const res = await tk.http.get('/api/me', { token: await resigned({ ...all, [claim]: false }) });
        expect(res.status).to.equal(401);
      });
    }
  });

  describe('slow and vanishing clients', () => {
    it('answers 408 request_timeout to a JSON body that stalls, and closes the connection', async () => {
      const answer = await rawExchange(tk.kernel.port, (write) => write(`${jsonHead('/api/auth/login', 50)}{"email":`));
      expect(answer).to.match(/^HTTP\/1\.1 408 /);
      expect(answer).to.contain('"code":"request_timeout"');
    });

    it('answers 408 to a JSON body that trickles in a byte at a time past its deadline', async () => {
      let timer: NodeJS.Timeout | undefined;
      const answer = await rawExchange(tk.kernel.port, (write, socket) => {
        write(jsonHead('/api/auth/login', 10_000));
        timer = setInterval(() => { if (!socket.destroyed) write(' '); }, 50);
      }).finally(() => clearInterval(timer));
      expect(answer).to.match(/^HTTP\/1\.1 408 /);
      expect(answer).to.contain('did not arrive whole within 800 ms');
    });

    it('counts a client that hangs up mid-body as 499, not as a 500', async () => {
      await rawExchange(tk.kernel.port, (write, socket) => {
        socket.once('data', () => {
          // "100 Continue": the request has reached the routes; now leave half-way through the body.
          write('{"email":"a@b.test",');
          socket.destroy();
        });
        write(jsonHead('/api/auth/login', 1000, 'Expect: 100-continue\r\n'));
      });
      const series = (status: string) => new RegExp(`zpack_http_request_duration_seconds_count\\{method="POST",route="/api/auth/login",status="${status}"\\} (\\d+)`);
      const deadline = Date.now() + 5000;
      let metrics = '';
      while (!series('499').test(metrics) && Date.now() < deadline) metrics = (await tk.http.get('/metrics')).text;
      expect(metrics).to.match(series('499'));
      expect(metrics).not.to.match(series('500'));
    });
  });

  describe('server timeouts', () => {
    let strict: TestKernel;
    before(async () => {
      strict = await startTestKernel({ config: { server: { timeouts: { headersMs: 200, requestMs: 500, jsonBodyIdleMs: 60_000, jsonBodyMs: 60_000 } } } });
    });
    after(async () => strict?.stop());

    it('closes a connection whose headers do not arrive in time with 408', async () => {
      const answer = await rawExchange(strict.kernel.port, (write) => write('GET /healthz HTTP/1.1\r\nHost: zpack.test\r\n'));
      expect(answer).to.match(/^HTTP\/1\.1 408 /);
    });

    it('closes a request still arriving after requestMs with 408', async () => {
      let timer: NodeJS.Timeout | undefined;
      const answer = await rawExchange(strict.kernel.port, (write, socket) => {
        write(jsonHead('/api/auth/login', 10_000));
        timer = setInterval(() => { if (!socket.destroyed) write(' '); }, 50);
      }).finally(() => clearInterval(timer));
      expect(answer).to.match(/^HTTP\/1\.1 408 /);
    });
  });
});
