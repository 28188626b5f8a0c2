import { expect } from 'chai';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ProviderError } from '../../kernel/api';
import { describeNotifierContract, until } from '../../kernel/testing';
import { emailConfig } from './config';
import { EmailNotifier } from './notifier';
import { parseMail, SmtpSink } from './testing/smtp-sink';

const FROM = 'zpack <noreply@example.test>';
const recipient = (n: number) => `player${n}@example.test`;

describeNotifierContract('EmailNotifier over SMTP → smtp-server sink', async () => {
  const sink = await new SmtpSink().start();
  const notifier = new EmailNotifier(emailConfig.parse({ from: FROM, transport: 'smtp', smtp: { port: sink.port, timeoutMs: 2000 } }));
  return {
    notifier, recipient,
    delivered: async () => sink.messages.map((m) => ({ to: m.to.join(','), subject: m.subject, text: m.text, template: m.template })),
    teardown: () => sink.stop(),
  };
});

describeNotifierContract('EmailNotifier into an outbox folder of .eml files', async () => {
  const outboxDir = await mkdtemp(path.join(tmpdir(), 'zpack-outbox-'));
  const notifier = new EmailNotifier(emailConfig.parse({ from: FROM, transport: 'outbox', outboxDir }));
  const delivered = async () => {
    const files = (await readdir(outboxDir)).filter((f) => f.endsWith('.eml')).sort();
    return Promise.all(files.map(async (f) => {
      const { to, subject, text, template } = parseMail(await readFile(path.join(outboxDir, f), 'utf8'));
      return { to, subject, text, template };
    }));
  };
  return { notifier, recipient, delivered, teardown: () => rm(outboxDir, { recursive: true, force: true }) };
});

describe('EmailNotifier', () => {
  it('sends from the configured address, with the template in X-Zpack-Template', async () => {
    const sink = await new SmtpSink().start();
    try {
      const notifier = new EmailNotifier(emailConfig.parse({ from: FROM, transport: 'smtp', smtp: { port: sink.port } }));
      await notifier.send({ to: recipient(7), subject: 'Hi', text: 'hello', template: 'welcome' });
      const mail = await sink.waitFor(recipient(7), 'welcome');
      expect(mail.from).to.equal('noreply@example.test');
      expect(mail.raw).to.match(/^X-Zpack-Template: welcome$/m);
    } finally {
      await sink.stop();
    }
  });

  it('turns an unreachable relay into a ProviderError naming smtp, so the outbox job retries', async () => {
    const sink = await new SmtpSink().start();
    const port = sink.port;
    await sink.stop();
    const notifier = new EmailNotifier(emailConfig.parse({ from: FROM, transport: 'smtp', smtp: { port, timeoutMs: 1000 } }));
    const err = await notifier.send({ to: recipient(8), subject: 'Hi', text: 'hello', template: 'welcome' }).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(ProviderError);
    expect((err as ProviderError).message).to.match(/ECONNREFUSED|connect/i);
  });

  it('creates the outbox folder on first use', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'zpack-outbox-'));
    try {
      const outboxDir = path.join(root, 'nested', 'outbox');
      await new EmailNotifier(emailConfig.parse({ from: FROM, outboxDir })).send({ to: recipient(9), subject: 'Hi', text: 'x', template: 'welcome' });
      expect(await until('one .eml file', () => readdir(outboxDir), (files) => files.length === 1)).to.have.length(1);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('requires the SMTP password when a user is set, naming the key', () => {
    const result = emailConfig.safeParse({ from: FROM, transport: 'smtp', smtp: { user: 'mailer' } });
    expect(result.success).to.equal(false);
    expect(result.error!.issues.map((i) => i.path.join('.'))).to.deep.equal(['smtp.password']);
  });
});
