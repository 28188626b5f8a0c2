import { expect } from 'chai';
import { DiscordSimulator } from './simulator';

const post = (url: string, body: unknown, wait = true) =>
  fetch(`${url}${wait ? '?wait=true' : ''}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

describe('Discord webhook simulator', () => {
  const sim = new DiscordSimulator();
  before(() => sim.start());
  after(() => sim.stop());
  beforeEach(() => sim.reset());

  it('keeps a posted message and answers it with ?wait=true, 204 without', async () => {
    const url = sim.webhook('ops');
    const res = await post(url, { content: 'hello', username: 'zpack', allowed_mentions: { parse: [] } });
    expect(res.status).to.equal(200);
    expect(await res.json()).to.include({ content: 'hello', type: 0 });
    expect((await post(url, { content: 'again' }, false)).status).to.equal(204);
    expect(sim.messagesOf('ops').map((m) => m.content)).to.deep.equal(['hello', 'again']);
    expect(sim.messagesOf('ops')[0].allowedMentions).to.deep.equal({ parse: [] });
  });

  it('answers an unknown webhook or a wrong token 404 with code 10015', async () => {
    const url = sim.webhook('ops');
    const res = await post(url.replace(/\/[^/]+$/, '/wrong-token'), { content: 'x' });
    expect(res.status).to.equal(404);
    expect(await res.json()).to.deep.equal({ message: 'Unknown Webhook', code: 10015 });
  });

  it('refuses content over 2000 characters and empty content with 400', async () => {
    const url = sim.webhook('ops');
    expect((await post(url, { content: 'x'.repeat(2001) })).status).to.equal(400);
    expect((await post(url, { content: '' })).status).to.equal(400);
    expect(sim.messages).to.have.length(0);
  });

  it('injects 429 with Discord\'s retry_after body and headers, then accepts again', async () => {
    const url = sim.webhook('ops');
    sim.faults.rateLimitNext(1, 0.25, 'POST');
    const limited = await post(url, { content: 'x' });
    expect(limited.status).to.equal(429);
    expect(limited.headers.get('retry-after')).to.equal('1');
    expect(await limited.json()).to.deep.equal({ message: 'You are being rate limited.', retry_after: 0.25, global: false });
    expect((await post(url, { content: 'x' })).status).to.equal(200);
    expect(sim.messages).to.have.length(1);
  });

  it('injects 5xx answers and dropped sockets, keeping nothing for them', async () => {
    const url = sim.webhook('ops');
    sim.faults.failNext(1, 503, 'POST');
    expect((await post(url, { content: 'x' })).status).to.equal(503);
    sim.faults.dropConnections = 1;
    const dropped = await post(url, { content: 'x' }).then(() => 'answered', () => 'dropped');
    expect(dropped).to.equal('dropped');
    expect(sim.messages).to.have.length(0);
    expect(sim.requests.map((r) => r.status)).to.deep.equal([503, 0]);
  });
});
