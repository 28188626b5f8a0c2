import { expect } from 'chai';
import { Tokens } from '../../kernel/api';
import { startTestKernel, type TestKernel } from '../harness';
import { samplePlugin } from '../fixtures/sample-plugin';

describe('Two kernels in one process', () => {
  let a: TestKernel;
  let b: TestKernel;
  before(async () => {
    [a, b] = await Promise.all([
      startTestKernel({ plugins: [samplePlugin], config: { plugins: { sample: { enabled: true, options: { greeting: 'hello' } } } } }),
      startTestKernel({ plugins: [samplePlugin], config: { plugins: { sample: { enabled: true, options: { greeting: 'bonjour' } } } } }),
    ]);
  });
  after(async () => Promise.all([a?.stop(), b?.stop()]));

  it('keep separate accounts (own schema)', async () => {
    const u = await a.user({ email: 'same@example.test' });
    expect((await b.http.post('/api/auth/login', { email: u.email, password: u.password })).status).to.equal(401);
    expect((await b.http.get('/api/me', { token: u.accessToken })).status).to.equal(401);
    await b.user({ email: 'same@example.test' });
  });

  it('keep separate containers, hooks and plugin options', async () => {
    expect(a.container.resolve(Tokens.Hooks)).not.to.equal(b.container.resolve(Tokens.Hooks));
    expect(a.container.resolve(Tokens.Queues)).not.to.equal(b.container.resolve(Tokens.Queues));
    const ua = await a.user();
    const ub = await b.user();
    expect((await ua.http.post('/api/sample/greetings', { name: 'x' })).body.greeting.text).to.equal('hello, x');
    expect((await ub.http.post('/api/sample/greetings', { name: 'x' })).body.greeting.text).to.equal('bonjour, x');
  });

  it('keep separate Redis prefixes and metrics', async () => {
    expect(a.prefix).not.to.equal(b.prefix);
    await a.http.get('/api/openapi.json');
    const ma = (await a.http.get('/metrics')).text;
    const mb = (await b.http.get('/metrics')).text;
    expect(ma).to.match(/route="\/api\/openapi.json"/);
    expect(mb).not.to.match(/route="\/api\/openapi.json"/);
  });
});
