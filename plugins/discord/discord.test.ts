import { expect } from 'chai';
import { ProviderError, DeliveryDeferredError, Tokens } from '../../kernel/api';
import { until, useTestKernel } from '../../kernel/testing';
import { discordContent, neutralise } from './client/markdown';
import { discordConfig } from './config';
import discord from './index';
import { DiscordNotifier } from './notifier';
import { DiscordSimulator } from './testing/simulator';

const notice = (subject: string, text = 'body') => ({ template: 'ops_alert', subject, text });

describe('Discord notices are shown literally', () => {
  it('neutralises @everyone and @here, so they mention nobody', () => {
    expect(neutralise('hi @everyone and @here')).to.equal('hi @\u200beveryone and @\u200bhere');
  });

  it('escapes markdown, mentions of users and channels, and masked links', () => {
    const text = neutralise('**bold** _it_ ~~s~~ `code` ||spoiler|| <@123> <#456> [click](https://evil.test)');
    expect(text).to.equal('\\*\\*bold\\*\\* \\_it\\_ \\~\\~s\\~\\~ \\`code\\` \\|\\|spoiler\\|\\| \\<@123\\> \\<#456\\> \\[click\\]\\(https://evil.test\\)');
  });

  it('escapes quotes, headings and list marks at the start of a line', () => {
    expect(neutralise('> quote\n# heading\n- item\n1. first')).to.equal('\\> quote\n\\# heading\n\\- item\n\\1. first');
  });

  it('drops control and invisible characters and keeps within 2000 characters', () => {
    expect(neutralise('a\u0000b\u200bc\u202ed')).to.equal('abcd');
    expect(discordContent('s', 'x'.repeat(5000))).to.have.length(2000);
  });
});

describe('DiscordNotifier against the simulator', () => {
  const sim = new DiscordSimulator();
  let notifier: DiscordNotifier;
  before(async () => {
    await sim.start();
    const config = discordConfig.parse({ webhooks: { ops: sim.webhook('ops'), support: sim.webhook('support') }, timeoutMs: 1000 });
    notifier = new DiscordNotifier(config, () => config.webhooks);
  });
  after(() => sim.stop());
  beforeEach(() => sim.reset());

  it('posts each topic to its own webhook, with mentions disabled', async () => {
    await notifier.send({ to: 'support', ...notice('New ticket') });
    await notifier.send({ to: 'ops', ...notice('Queue stale') });
    expect(sim.messagesOf('support').map((m) => m.content)).to.deep.equal(['**New ticket**\nbody']);
    expect(sim.messagesOf('ops').map((m) => m.content)).to.deep.equal(['**Queue stale**\nbody']);
    expect(sim.messages.every((m) => JSON.stringify(m.allowedMentions) === '{"parse":[]}')).to.equal(true);
  });

  it('turns a 429 into a deferral after Discord\'s retry_after', async () => {
    sim.faults.rateLimitNext(1, 1.5, 'POST');
    const err = await notifier.send({ to: 'ops', ...notice('x') }).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(DeliveryDeferredError);
    expect((err as DeliveryDeferredError).retryAfterMs).to.equal(1500);
  });

  it('turns a 5xx and a dropped socket into a ProviderError naming discord', async () => {
    sim.faults.failNext(1, 502, 'POST');
    const failed = await notifier.send({ to: 'ops', ...notice('x') }).then(() => null, (e: unknown) => e);
    expect(failed).to.be.instanceOf(ProviderError);
    expect((failed as ProviderError).details).to.include({ remote: 'discord', status: 502 });
    sim.faults.dropConnections = 1;
    const dropped = await notifier.send({ to: 'ops', ...notice('x') }).then(() => null, (e: unknown) => e);
    expect(dropped).to.be.instanceOf(ProviderError);
    expect(sim.messages).to.have.length(0);
  });
});

describe('discord plugin: operator notices through the outbox', () => {
  const sim = new DiscordSimulator();
  const env = useTestKernel(async () => {
    await sim.start();
    return {
      plugins: [discord],
      config: {
        notifications: { backoffBaseMs: 100, backoffMaxMs: 400, sweepIntervalSeconds: 1, maxAttempts: 50 },
        plugins: { discord: { enabled: true, options: { simulate: false, webhooks: { ops: sim.webhook('ops'), support: sim.webhook('support') } } } },
      },
    };
  });
  after(() => sim.stop());
  beforeEach(() => sim.reset());

  const rowOf = async (subject: string) => (await env.tk.kernel.ds.query(`SELECT state, attempts, sent_at FROM notification WHERE subject = $1`, [subject]))[0];

  it('delivers once, after the wait, when Discord answers 429 with retry_after', async () => {
    sim.faults.rateLimitNext(1, 0.8, 'POST');
    await env.tk.kernel.resolve(Tokens.Notifications).sendToOperators('support', notice('rate limited once'));
    const [message] = await sim.waitFor('support', 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(sim.messagesOf('support')).to.have.length(1);
    const [limited] = sim.requests.filter((r) => r.status === 429);
    expect(message.at - limited.at).to.be.at.least(800);
    expect(await rowOf('rate limited once')).to.include({ state: 'sent', attempts: 1 });
  });

  it('delivers every notice exactly once after Discord was down for a while', async () => {
    const notifications = env.tk.kernel.resolve(Tokens.Notifications);
    await sim.stop();
    for (let i = 0; i < 20; i++) await notifications.sendToOperators('ops', notice(`outage ${i}`));
    await until('retries while Discord is down', () => env.tk.kernel.ds.query(`SELECT count(*)::int AS n FROM notification WHERE subject LIKE 'outage %' AND attempts >= 2`),
      (rows) => rows[0].n === 20);
    await sim.start();
    await sim.waitFor('ops', 20, 15_000);
    await until('all sent', () => env.tk.kernel.ds.query(`SELECT count(*)::int AS n FROM notification WHERE subject LIKE 'outage %' AND state = 'sent'`), (rows) => rows[0].n === 20);
    const contents = sim.messagesOf('ops').map((m) => m.content).sort();
    expect(contents).to.deep.equal([...Array(20).keys()].map((i) => `**outage ${i}**\nbody`).sort());
  });

  it('retries 5xx answers and dropped sockets with backoff, delivering once', async () => {
    sim.faults.failNext(2, 503, 'POST');
    await env.tk.kernel.resolve(Tokens.Notifications).sendToOperators('ops', notice('flaky 5xx'));
    await sim.waitFor('ops', 1);
    sim.faults.dropConnections = 1;
    await env.tk.kernel.resolve(Tokens.Notifications).sendToOperators('ops', notice('dropped socket'));
    await sim.waitFor('ops', 2);
    await until('both sent', async () => [await rowOf('flaky 5xx'), await rowOf('dropped socket')], (rows) => rows.every((r) => r.state === 'sent'));
    expect(await rowOf('flaky 5xx')).to.include({ attempts: 3 });
    expect(await rowOf('dropped socket')).to.include({ attempts: 2 });
    expect(sim.messagesOf('ops')).to.have.length(2);
  });
});
