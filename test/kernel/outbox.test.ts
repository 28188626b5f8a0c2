import { expect } from 'chai';
import { z } from 'zod';
import { Notifier, Tokens, definePlugin, escapeHtml } from '../../kernel/api';
import type { NotificationMessage } from '../../kernel/api';
import { KERNEL_TEMPLATES } from '../../kernel/core/notification-templates';
import { MemoryNotifier, until } from '../../kernel/testing';
import emailPlugin from '../../plugins/email';
import { SmtpSink } from '../../plugins/email/testing/smtp-sink';
import { startTestKernel, useTestKernel, type TestKernel } from '../harness';

const HOSTILE = '<img src=x onerror="alert(1)"> & \'quotes\'';

describe('Notification templates', () => {
  it('render every customer-facing event as text and HTML, escaping every value in the HTML', () => {
    const names = KERNEL_TEMPLATES.map((t) => t.name);
    expect(names).to.include.members(['server_ready', 'server_crashed', 'provisioning_failed', 'billing_warning', 'billing_final_warning',
      'billing_suspended', 'billing_restored', 'invoice_paid', 'password_reset', 'maintenance_scheduled', 'maintenance_starting']);
    const data = {
      serverName: HOSTILE, classification: HOSTILE, logTail: [HOSTILE, 'second line'], next: HOSTILE, reason: HOSTILE, code: HOSTILE,
      amount: HOSTILE, number: HOSTILE, email: HOSTILE, message: HOSTILE, affected: HOSTILE, url: `https://panel.test/x?a=1&b="${HOSTILE}"`,
      crashedAt: HOSTILE, startsAt: HOSTILE, endsAt: HOSTILE, nextStepAt: HOSTILE, minutes: HOSTILE, exitCode: HOSTILE, signal: HOSTILE,
    };
    for (const t of KERNEL_TEMPLATES) {
      const out = t.render(data);
      expect(out.subject, t.name).to.be.a('string').and.not.equal('');
      expect(out.html, t.name).to.not.contain('<img').and.to.not.contain('onerror="');
      if (out.text.includes(HOSTILE)) expect(out.html, t.name).to.contain(escapeHtml(HOSTILE));
    }
  });

  it('server_crashed carries the crash class and the log excerpt, line by line', () => {
    const out = KERNEL_TEMPLATES.find((t) => t.name === 'server_crashed')!.render({
      serverName: 'Survival', classification: 'oom', crashedAt: '2026-11-27T10:00:00Z', exitCode: 137, logTail: ['a <b>', 'java.lang.OutOfMemoryError'], next: 'It will be restarted.',
    });
    expect(out.subject).to.equal('Your server "Survival" crashed (oom)');
    expect(out.text).to.contain('cause: oom').and.to.contain('a <b>\njava.lang.OutOfMemoryError').and.to.contain('exit code 137');
    expect(out.html).to.contain('<pre').and.to.contain('a &#60;b&#62;\njava.lang.OutOfMemoryError');
  });
});

describe('The outbox with a real SMTP server', () => {
  const smtp = new SmtpSink();
  let tk: TestKernel;
  before(async () => {
    await smtp.start();
    tk = await startTestKernel({
      plugins: [emailPlugin],
      config: {
        notifications: { backoffBaseMs: 100, backoffMaxMs: 400, sweepIntervalSeconds: 1, maxAttempts: 100 },
        plugins: { email: { enabled: true, options: { from: 'zpack <noreply@zpack.test>', transport: 'smtp', smtp: { port: smtp.port, timeoutMs: 1000 } } } },
      },
    });
  });
  after(async () => {
    await tk?.stop();
    await smtp.stop();
  });

  it('delivers every mail exactly once after the SMTP server was stopped for a while', async () => {
    const notifications = tk.kernel.resolve(Tokens.Notifications);
    await smtp.stop();
    const recipients = Array.from({ length: 30 }, (_, i) => `outage${i}@example.test`);
    for (const to of recipients) await notifications.sendToOwner({ to, template: 'billing_restored', data: {} });
    await until('every message retried at least twice while SMTP is down',
      () => tk.kernel.ds.query(`SELECT count(*)::int AS n FROM notification WHERE recipient LIKE 'outage%' AND attempts >= 2 AND state IN ('pending', 'sending')`),
      (rows) => rows[0].n === 30, 20_000);
    await smtp.start();
    await until('all sent', () => tk.kernel.ds.query(`SELECT count(*)::int AS n FROM notification WHERE recipient LIKE 'outage%' AND state = 'sent'`),
      (rows) => rows[0].n === 30, 20_000);
    // Anything late would have arrived by now: another sweep and another backoff have passed.
    await new Promise((r) => setTimeout(r, 1500));
    const got = smtp.messages.filter((m) => m.to[0]?.startsWith('outage')).map((m) => m.to[0]).sort();
    expect(got).to.deep.equal([...recipients].sort());
    const ids = smtp.messages.filter((m) => m.to[0]?.startsWith('outage')).map((m) => m.messageId);
    expect(new Set(ids).size, 'one Message-ID per outbox row').to.equal(30);
  });

  it('sends the rendered HTML alongside the text', async () => {
    await tk.kernel.resolve(Tokens.Notifications).sendToOwner({ to: 'html@example.test', template: 'server_ready', data: { serverName: '<Survival>' } });
    const mail = await smtp.waitFor('html@example.test', 'server_ready');
    expect(mail.subject).to.equal('Your server "<Survival>" is ready');
    expect(mail.html).to.contain('&#60;Survival&#62;');
    expect(mail.text).to.contain('"<Survival>"');
  });
});

class FlakyNotifier extends Notifier {
  readonly channel = 'flaky';
  readonly audiences = ['owner'] as const;
  readonly delivered: NotificationMessage[] = [];
  down = false;
  async send(message: NotificationMessage): Promise<void> {
    if (this.down) throw new Error('flaky is down');
    this.delivered.push(message);
  }
}
const flaky = new FlakyNotifier();
const flakyPlugin = definePlugin({
  name: 'flaky', version: '1.0.0', kernelApi: '2', config: z.object({}),
  register(ctx) {
    ctx.provide(Notifier, () => flaky);
  },
});

describe('GET /api/admin/outbox and retry', () => {
  const env = useTestKernel({
    plugins: [flakyPlugin],
    config: { notifications: { maxAttempts: 2, backoffBaseMs: 50, backoffMaxMs: 50, sweepIntervalSeconds: 1 }, plugins: { flaky: { enabled: true, options: {} } } },
  });

  it('lists messages newest first, filtered by state and template, paged', async () => {
    const admin = await env.tk.user({ role: 'admin' });
    const notifications = env.tk.kernel.resolve(Tokens.Notifications);
    for (let i = 0; i < 3; i++) await notifications.sendToOwner({ to: `list${i}@example.test`, template: 'invoice_paid', data: { number: `INV-${i}` } });
    await until('sent', () => env.tk.kernel.ds.query(`SELECT count(*)::int AS n FROM notification WHERE template = 'invoice_paid' AND state = 'sent'`), (r) => r[0].n === 3);
    const page = await admin.http.get('/api/admin/outbox?template=invoice_paid&state=sent&limit=2');
    expect(page.status).to.equal(200);
    expect(page.body.notifications.map((n: { recipient: string }) => n.recipient)).to.deep.equal(['list2@example.test', 'list1@example.test']);
    expect(page.body.notifications[0]).to.include({ channel: 'flaky', template: 'invoice_paid', state: 'sent', attempts: 1, subject: 'Receipt for your zpack invoice INV-2' });
    const rest = await admin.http.get(`/api/admin/outbox?template=invoice_paid&state=sent&limit=2&cursor=${page.body.nextCursor}`);
    expect(rest.body.notifications.map((n: { recipient: string }) => n.recipient)).to.deep.equal(['list0@example.test']);
    expect((await admin.http.get('/api/admin/outbox?state=bogus')).status).to.equal(400);
    const user = await env.tk.user();
    expect((await user.http.get('/api/admin/outbox')).status).to.equal(403);
  });

  it('marks a message failed after its last attempt, and an admin retry delivers it once', async () => {
    const admin = await env.tk.user({ role: 'admin' });
    flaky.down = true;
    await env.tk.kernel.resolve(Tokens.Notifications).sendToOwner({ to: 'retry@example.test', template: 'billing_warning', data: {} });
    const failed = await until('failed', () => admin.http.get('/api/admin/outbox?state=failed&template=billing_warning'),
      (r) => r.body.notifications.some((n: { recipient: string }) => n.recipient === 'retry@example.test'));
    const row = failed.body.notifications.find((n: { recipient: string }) => n.recipient === 'retry@example.test');
    expect(row).to.include({ attempts: 2, lastError: 'flaky is down' });
    flaky.down = false;
    const retried = await admin.http.post(`/api/admin/outbox/${row.id}/retry`);
    expect(retried.status).to.equal(202);
    expect(retried.body.notification).to.include({ state: 'pending', attempts: 0 });
    await until('delivered', () => flaky.delivered.filter((m) => m.to === 'retry@example.test'), (d) => d.length === 1);
    const again = await admin.http.post(`/api/admin/outbox/${row.id}/retry`);
    expect(again.status, 'a sent message is not retried').to.equal(409);
    await new Promise((r) => setTimeout(r, 300));
    expect(flaky.delivered.filter((m) => m.to === 'retry@example.test')).to.have.length(1);
  });

  it('delivers a due message whose job was lost, through the sweep', async () => {
    const [row] = await env.tk.kernel.ds.query(`INSERT INTO notification (channel, recipient, template, subject, body, state, next_attempt_at)
      VALUES ('flaky', 'lost@example.test', 'welcome', 'Welcome', 'hi', 'pending', now() - interval '1 minute') RETURNING id`);
    await until('swept and delivered', () => flaky.delivered.filter((m) => m.to === 'lost@example.test'), (d) => d.length === 1, 10_000);
    await until('marked sent', () => env.tk.kernel.ds.query(`SELECT state FROM notification WHERE id = $1`, [row.id]), (r) => r[0].state === 'sent');
  });

  it('two deliveries of one message at once send it once', async () => {
    const outbox = env.tk.kernel.outbox;
    const [row] = await env.tk.kernel.ds.query(`INSERT INTO notification (channel, recipient, template, subject, body, state, next_attempt_at)
      VALUES ('flaky', 'twice@example.test', 'welcome', 'Welcome', 'hi', 'pending', now() + interval '1 hour') RETURNING id`);
    await env.tk.kernel.ds.query(`UPDATE notification SET next_attempt_at = now() WHERE id = $1`, [row.id]);
    await Promise.all([outbox.deliver(row.id), outbox.deliver(row.id), outbox.deliver(row.id)]);
    // The sweep may have claimed the now-due message first: then its job delivers it, and none of these.
    await until('delivered', () => flaky.delivered.filter((m) => m.to === 'twice@example.test'), (d) => d.length > 0, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(flaky.delivered.filter((m) => m.to === 'twice@example.test')).to.have.length(1);
  });
});

describe('GET/PUT /api/me/notifications', () => {
  const mail = new MemoryNotifier('mail', ['owner']);
  const env = useTestKernel({
    plugins: [definePlugin({ name: 'mail', version: '1.0.0', kernelApi: '2', config: z.object({}), register: (ctx) => ctx.provide(Notifier, () => mail) })],
    config: { plugins: { mail: { enabled: true, options: {} } } },
  });

  it('lists the optional notifications, all on at first', async () => {
    const user = await env.tk.user();
    const res = await user.http.get('/api/me/notifications');
    expect(res.status).to.equal(200);
    const names = res.body.preferences.map((p: { template: string }) => p.template);
    expect(names).to.include.members(['server_ready', 'server_crashed', 'maintenance_scheduled']);
    expect(names).to.not.include('password_reset').and.to.not.include('billing_suspended');
    expect(res.body.preferences.every((p: { enabled: boolean }) => p.enabled)).to.equal(true);
  });

  it('turns one off: that mail is recorded as suppressed and not sent; the rest still go', async () => {
    const user = await env.tk.user();
    const put = await user.http.put('/api/me/notifications', { preferences: { server_ready: false } });
    expect(put.status).to.equal(200);
    expect(put.body.preferences.find((p: { template: string }) => p.template === 'server_ready').enabled).to.equal(false);
    const notifications = env.tk.kernel.resolve(Tokens.Notifications);
    await notifications.sendToOwner({ to: user.email, template: 'server_ready', data: { serverName: 'A' } });
    await notifications.sendToOwner({ to: user.email, template: 'server_crashed', data: { serverName: 'A' } });
    await mail.waitFor(user.email, 'server_crashed');
    const rows = await until('settled', () => env.tk.kernel.ds.query(`SELECT template, state FROM notification WHERE recipient = $1 ORDER BY template`, [user.email]),
      (r) => r[0]?.state === 'sent');
    expect(rows).to.deep.equal([{ template: 'server_crashed', state: 'sent' }, { template: 'server_ready', state: 'suppressed' }]);
    expect(mail.messages.filter((m) => m.to === user.email && m.template === 'server_ready')).to.deep.equal([]);
  });

  it('refuses to turn off a notification that is not optional', async () => {
    const user = await env.tk.user();
    const res = await user.http.put('/api/me/notifications', { preferences: { password_reset: false } });
    expect(res.status).to.equal(400);
    expect(res.body.error.details.fields[0].path).to.equal('body.preferences.password_reset');
  });
});
