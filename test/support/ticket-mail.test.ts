import { expect } from 'chai';
import { until } from '../../kernel/testing';
import discord from '../../plugins/discord';
import { DiscordSimulator } from '../../plugins/discord/testing/simulator';
import email from '../../plugins/email';
import { SmtpSink } from '../../plugins/email/testing/smtp-sink';
import support from '../../plugins/support';
import { useTestKernel } from '../harness';

/** A ticket's mail and alert as they leave zpack: over real SMTP and the Discord webhook simulator. */
describe('support tickets over email and Discord', () => {
  const smtp = new SmtpSink();
  const sim = new DiscordSimulator();
  const env = useTestKernel(async () => {
    await smtp.start();
    await sim.start();
    return {
      plugins: [support, email, discord],
      config: {
        notifications: { backoffBaseMs: 100, backoffMaxMs: 500, sweepIntervalSeconds: 1 },
        plugins: {
          support: { enabled: true, options: {} },
          email: { enabled: true, options: { from: 'zpack <noreply@zpack.test>', transport: 'smtp', smtp: { port: smtp.port, timeoutMs: 2000 } } },
          discord: { enabled: true, options: { simulate: false, webhooks: { ops: sim.webhook('ops'), support: sim.webhook('support') } } },
        },
      },
    };
  });
  after(async () => {
    await smtp.stop();
    await sim.stop();
  });

  it('mails the customer an acknowledgement and alerts the Discord support channel; HTML and @everyone arrive escaped and neutralised', async () => {
    const user = await env.tk.user();
    const subject = '<script>alert("x")</script> @everyone **urgent** <@123>';
    const res = await user.http.post('/api/support/create', { subject, message: 'Hi <b>there</b> @here\n> quoted', category: 'billing' });
    expect(res.status).to.equal(201);
    const number = res.body.ticket.number;

    const mail = await smtp.waitFor(user.email, 'support_acknowledgement');
    expect(mail.subject).to.equal(`[${number}] We received your request: ${subject}`);
    expect(mail.text).to.contain(subject);
    expect(mail.html).to.contain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;');
    expect(mail.html).to.contain('Hi &#60;b&#62;there&#60;/b&#62;');
    expect(mail.html).to.not.match(/<script|<b>/);

    const alert = (await until('the Discord support alert', () => sim.messagesOf('support').find((m) => m.content.includes(number)), (m) => m !== undefined))!;
    expect(alert.content).to.contain('@\u200beveryone').and.to.contain('@\u200bhere');
    expect(alert.content).to.not.contain('@everyone').and.to.not.contain('@here');
    expect(alert.content).to.contain('\\<script\\>').and.to.contain('\\*\\*urgent\\*\\*').and.to.contain('\\<@123\\>').and.to.contain('\\> quoted');
    expect(alert.allowedMentions).to.deep.equal({ parse: [] });
  });

  it('escapes a staff reply in the customer\'s HTML mail', async () => {
    const user = await env.tk.user();
    const admin = await env.tk.user({ role: 'admin' });
    const opened = (await user.http.post('/api/support/tickets', { subject: 'Help', message: 'please', category: 'other' })).body.ticket;
    await admin.http.post(`/api/support/tickets/${opened.id}/messages`, { message: 'Try <a href="javascript:alert(1)">this</a>' });
    const reply = await smtp.waitFor(user.email, 'support_reply');
    expect(reply.html).to.contain('&#60;a href&#61;&#34;javascript:alert(1)&#34;&#62;').and.to.not.contain('<a href="javascript');
    expect(reply.text).to.contain('Try <a href="javascript:alert(1)">this</a>');
  });
});
