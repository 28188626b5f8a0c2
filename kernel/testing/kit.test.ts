import { expect } from 'chai';
import { Notifier, Tokens } from '../api';
import { describeNotifierContract, FakeClock, MemoryNotifier, startTestKernel, useTestKernel } from '.';

describe('kernel/testing', () => {
  describe('inject()', () => {
    const notifier = new MemoryNotifier('email');
    const clock = new FakeClock();
    const env = useTestKernel({ overrides: [{ token: Notifier, value: notifier }, { token: Tokens.Clock, value: clock }] });

    it('answers in-process exactly as over the socket, envelope and request id included', async () => {
      const [socket, injected] = await Promise.all([env.tk.http.post('/api/auth/login', { email: 'x' }), env.tk.inject.post('/api/auth/login', { email: 'x' })]);
      expect(injected.status).to.equal(400).and.equal(socket.status);
      expect(injected.body.error.code).to.equal('invalid_request').and.equal(socket.body.error.code);
      expect(injected.headers.get('x-request-id')).to.be.a('string').and.not.equal(socket.headers.get('x-request-id'));
    });

    it('runs a whole sign-up through the app, its welcome mail landing in the MemoryNotifier', async () => {
      const created = await env.tk.inject.post('/api/auth/register', { email: 'kit@example.test', password: 'correct-horse-battery' });
      expect(created.status).to.equal(201);
      const mail = await notifier.waitFor('kit@example.test', 'welcome');
      expect(mail.subject).to.equal('Welcome to zpack');
      const login = await env.tk.inject.post('/api/auth/login', { email: 'kit@example.test', password: 'correct-horse-battery' });
      const me = await env.tk.inject.as(login.body.accessToken).get('/api/me');
      expect(me.body.user).to.deep.include({ email: 'kit@example.test' });
    });

    it('lets a FakeClock age a refresh token past its lifetime without waiting', async () => {
      const user = await env.tk.user();
      clock.advance((env.tk.config.auth.refreshTtlSeconds + 1) * 1000);
      const refreshed = await env.tk.inject.post('/api/auth/refresh', { refreshToken: user.refreshToken });
      expect(refreshed.status).to.equal(401);
    });
  });

  it('says so when the kernel serves no HTTP, instead of injecting into nothing', async () => {
    const tk = await startTestKernel({ config: { role: 'provision-worker' } });
    try {
      const refused = await tk.inject.get('/healthz').then(() => null, (err: Error) => err.message);
      expect(refused).to.match(/serves no HTTP/);
    } finally {
      await tk.stop();
    }
  });

  const memory = new MemoryNotifier('email');
  describeNotifierContract('MemoryNotifier', async () => ({ notifier: memory, recipient: (n) => `user${n}@example.test`, delivered: async () => memory.messages.map(({ to, subject, text, template }) => ({ to, subject, text, template })) }));
});
