import { expect } from 'chai';
import type { TestClient, TestKernel, TestUser } from '../harness';
import { create, settle, startFleet, startFleetKernel, type Fleet } from '../provisioning/fixture';
import { PORTAL, closed, connect, nextMessage } from './client';

/** One login session of the owner: its own access and refresh tokens. */
interface LoginSession {
  accessToken: string;
  refreshToken: string;
}

describe('Console WebSocket and revoked sessions, across API processes', () => {
  let fleet: Fleet;
  let a: TestKernel;
  let b: TestKernel;
  let owner: TestUser;
  let password: string;
  let serverId: string;

  before(async () => {
    fleet = await startFleet();
    const config = { console: { allowedOrigins: [PORTAL] } };
    a = await startFleetKernel(fleet, { config });
    b = await startFleetKernel(fleet, { schema: a.schema, prefix: a.prefix, config: { ...config, role: 'api', database: { dropSchemaOnStop: false } } });
    owner = await a.user();
    password = owner.password;
    serverId = (await settle(owner, (await create(owner, 'revocation')).body.operation.id)).instanceId;
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
    await fleet?.stop();
  });

  const login = async (): Promise<LoginSession> => {
    const res = await a.http.post('/api/auth/login', { email: owner.email, password });
    expect(res.status).to.equal(200);
    return res.body;
  };
  const ticket = async (s: LoginSession): Promise<string> => {
    const res = await a.http.post(`/api/servers/${serverId}/console/ticket`, undefined, { token: s.accessToken });
    expect(res.status).to.equal(200);
    return res.body.ticket;
  };
  /** A console opened on process A, bridged to the agent. */
  const openOnA = async (s: LoginSession) => {
    const { ws } = await connect(`${a.url.replace('http', 'ws')}/api/servers/${serverId}/console?ticket=${await ticket(s)}`);
    await nextMessage(ws!, /./);
    return ws!;
  };
  const redeemOnA = async (t: string) => (await connect(`${a.url.replace('http', 'ws')}/api/servers/${serverId}/console?ticket=${t}`)).status;
  const onB = (s: LoginSession): TestClient => b.http.as(s.accessToken);

  it('a logout through process B closes that session’s console on process A within a second (4401), and only that session’s', async () => {
    const [session, other] = [await login(), await login()];
    const ws = await openOnA(session);
    const bystander = await openOnA(other);
    const end = closed(ws);
    expect((await onB(session).post('/api/auth/logout')).status).to.equal(204);
    const { code, reason, ms } = await end;
    expect({ code, reason }).to.deep.equal({ code: 4401, reason: 'session revoked: logged out' });
    expect(ms).to.be.lessThan(1000);
    bystander.send('say still here');
    expect(await nextMessage(bystander, /\[Server\] still here/)).to.match(/still here/);
    bystander.close();
  });

  it('closes a console whose upgrade was between its session check and its 101 when the logout landed', async () => {
    const session = await login();
    const witness = await openOnA(session);
    const witnessClosed = closed(witness);
    const t = await ticket(session);
    const auth = a.kernel.auth;
    const original = auth.liveSession.bind(auth);
    auth.liveSession = async (sessionId, accountId) => {
      auth.liveSession = original;
      const live = await original(sessionId, accountId);
      expect((await onB(session).post('/api/auth/logout')).status).to.equal(204);
      await witnessClosed; // process A has applied the close order
      return live;
    };
    const { ws } = await connect(`${a.url.replace('http', 'ws')}/api/servers/${serverId}/console?ticket=${t}`);
    const end = await Promise.race([closed(ws!), new Promise((r) => setTimeout(() => r('still open'), 2000))]);
    expect(end).to.include({ code: 4401, reason: 'session revoked: logged out' });
  });

  it('refuses before the 101 a ticket issued before its session logged out', async () => {
    const session = await login();
    const t = await ticket(session);
    expect((await onB(session).post('/api/auth/logout')).status).to.equal(204);
    expect(await redeemOnA(t)).to.equal(401);
  });

  it('a reused refresh token closes its session’s console (4401)', async () => {
    const session = await login();
    expect((await b.http.post('/api/auth/refresh', { refreshToken: session.refreshToken })).status).to.equal(200);
    const ws = await openOnA(session);
    const t = await ticket(session);
    const end = closed(ws);
    expect((await b.http.post('/api/auth/refresh', { refreshToken: session.refreshToken })).status).to.equal(401);
    expect(await end).to.include({ code: 4401, reason: 'session revoked: refresh token reused' });
    expect(await redeemOnA(t)).to.equal(401);
  });

  it('an admin role change through process B closes the account’s consoles and voids earlier tickets; a new ticket works', async () => {
    const admin = await a.user({ role: 'admin' });
    const session = await login();
    const ws = await openOnA(session);
    const t = await ticket(session);
    const end = closed(ws);
    expect((await b.http.as(admin.accessToken).patch(`/api/admin/users/${owner.id}`, { role: 'admin' })).status).to.equal(200);
    const { code, reason, ms } = await end;
    expect({ code, reason }).to.deep.equal({ code: 4401, reason: 'session revoked: account role changed' });
    expect(ms).to.be.lessThan(1000);
    expect(await redeemOnA(t)).to.equal(401);
    const again = await openOnA(session);
    again.close();
  });

  it('a password reset through process B closes every console of the account and refuses earlier tickets', async () => {
    const [first, second] = [await login(), await login()];
    const consoles = [await openOnA(first), await openOnA(second)];
    const t = await ticket(first);
    const ends = consoles.map(closed);
    expect((await b.http.post('/api/auth/password-reset/request', { email: owner.email })).status).to.equal(202);
    const [row] = await a.kernel.ds.query(`SELECT data FROM notification WHERE recipient = $1 AND template = 'password_reset'`, [owner.email]);
    password = 'a-new-password-after-reset';
    expect((await b.http.post('/api/auth/password-reset/confirm', { token: row.data.token, password })).status).to.equal(204);
    for (const end of await Promise.all(ends)) {
      expect(end).to.include({ code: 4401, reason: 'session revoked: password reset' });
      expect(end.ms).to.be.lessThan(1000);
    }
    expect(await redeemOnA(t)).to.equal(401);
  });
});
