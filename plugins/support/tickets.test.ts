import { expect } from 'chai';
import { z } from 'zod';
import { FakeClock, MemoryNotifier, until, useTestKernel } from '../../kernel/testing';
import { Notifier, Tokens, definePlugin } from '../../kernel/api';
import support from './index';
import { dayIn } from './numbering';
import { insertServer } from './testing/fixture';

const TZ = 'America/Detroit';
/** Above the 25 tickets each user opens in the numbering test. */
const TICKETS_PER_HOUR = 30;
const ticket = (subject = 'My server is down', extra: Record<string, unknown> = {}) => ({ subject, message: 'It stopped at noon.', category: 'technical', ...extra });

const mail = new MemoryNotifier('mail', ['owner']);
const pager = new MemoryNotifier('pager', ['operators']);
const channel = (notifier: MemoryNotifier) => definePlugin({
  name: notifier.channel, version: '1.0.0', kernelApi: '2', config: z.object({}), register: (ctx) => ctx.provide(Notifier, () => notifier),
});

describe('support tickets', () => {
  const clock = new FakeClock();
  const env = useTestKernel({
    plugins: [support, channel(mail), channel(pager)],
    overrides: [{ token: Tokens.Clock, value: clock }],
    config: {
      plugins: {
        support: { enabled: true, options: { ticketPrefix: 'ZLH', timeZone: TZ, staffEmail: 'staff@zpack.test', ticketsPerHour: TICKETS_PER_HOUR } },
        mail: { enabled: true, options: {} },
        pager: { enabled: true, options: {} },
      },
    },
  });

  it('numbers 100 tickets opened at once on one day 0001 to 0100, each once', async () => {
    const users = await Promise.all(Array.from({ length: 4 }, () => env.tk.user()));
    const today = dayIn(clock.now(), TZ);
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => users[i % 4].http.post('/api/support/tickets', ticket(`Ticket ${i}`))));
    expect(answers.map((a) => a.status)).to.deep.equal(Array(100).fill(201));
    const numbers = answers.map((a) => a.body.ticket.number as string).sort();
    expect(numbers).to.deep.equal(Array.from({ length: 100 }, (_, i) => `ZLH-${today}-${String(i + 1).padStart(4, '0')}`));
  });

  it('restarts the counter at midnight in the configured time zone, not UTC', async () => {
    const user = await env.tk.user();
    // One minute before the next midnight in Detroit (05:00 UTC in winter).
    const start = clock.now();
    let probe = new Date(Math.ceil(start.getTime() / 60_000) * 60_000);
    while (dayIn(new Date(probe.getTime() + 60_000), TZ) === dayIn(start, TZ)) probe = new Date(probe.getTime() + 60_000);
    clock.set(probe);
    const before = await user.http.post('/api/support/tickets', ticket('Before midnight'));
    clock.advance(2 * 60_000);
    const after = await user.http.post('/api/support/tickets', ticket('After midnight'));
    const next = dayIn(clock.now(), TZ);
    expect(before.body.ticket.number).to.match(new RegExp(`^ZLH-${dayIn(probe, TZ)}-\\d{4}$`));
    expect(after.body.ticket.number).to.equal(`ZLH-${next}-0001`);
    expect(new Date(clock.now().toLocaleString('en-US', { timeZone: TZ })).getHours(), 'Detroit local hour').to.equal(0);
    expect(clock.now().getUTCHours(), 'UTC hour').to.not.equal(0);
  });

  it('answers 404 for a serverId of another user\'s server, and opens nothing', async () => {
    const owner = await env.tk.user();
    const stranger = await env.tk.user();
    const serverId = await insertServer(env.tk, owner.id);
    const res = await stranger.http.post('/api/support/tickets', ticket('Not mine', { serverId }));
    expect(res.status).to.equal(404);
    expect(res.body.error.code).to.equal('not_found');
    expect((await stranger.http.get('/api/support/tickets')).body.tickets).to.deep.equal([]);
  });

  it('keeps a read-only snapshot of the customer\'s own server: state, last crash, latest operation', async () => {
    const user = await env.tk.user();
    const admin = await env.tk.user({ role: 'admin' });
    const serverId = await insertServer(env.tk, user.id, { name: 'Creative', state: 'crashed', crashed: true });
    const res = await user.http.post('/api/support/tickets', ticket('Crashes', { serverId }));
    expect(res.status).to.equal(201);
    expect(res.body.ticket).to.include({ serverId });
    expect(res.body.ticket).to.not.have.property('snapshot');
    const view = await admin.http.get(`/api/admin/support/tickets/${res.body.ticket.id}`);
    expect(view.body.ticket.snapshot).to.include({ serverId, name: 'Creative', state: 'crashed', node: 'pve1', lastOperation: null });
    expect(view.body.ticket.snapshot.lastCrash).to.include({ classification: 'oom', exitCode: 137 });
    await env.tk.kernel.ds.query(`UPDATE instance SET state = 'running' WHERE id = $1`, [serverId]);
    expect((await admin.http.get(`/api/admin/support/tickets/${res.body.ticket.id}`)).body.ticket.snapshot.state, 'taken once').to.equal('crashed');
  });

  it('acknowledges a new ticket to the customer and alerts the support topic', async () => {
    const user = await env.tk.user();
    const opened = (await user.http.post('/api/support/tickets', ticket('Lag spikes', { category: 'technical' }))).body.ticket;
    const ack = await mail.waitFor(user.email, 'support_acknowledgement');
    expect(ack.subject).to.equal(`[${opened.number}] We received your request: Lag spikes`);
    expect(ack.text).to.contain('It stopped at noon.');
    const alert = await until('the support alert', () => pager.messages.find((m) => m.to === 'support' && m.subject.includes(opened.number)), (m) => m !== undefined);
    expect(alert!.text).to.contain(user.email).and.to.contain('Category: technical');
  });

  it('opens at most ticketsPerHour tickets per account in an hour (each mails its text to an unverified address): then 429 with Retry-After, mailing nothing', async () => {
    const user = await env.tk.user();
    // A burst at once: the limit holds however the requests interleave.
    const burst = await Promise.all(Array.from({ length: TICKETS_PER_HOUR + 10 }, (_, i) => user.http.post('/api/support/tickets', ticket(`Flood ${i}`))));
    expect(burst.filter((r) => r.status === 201)).to.have.length(TICKETS_PER_HOUR);
    expect(burst.filter((r) => r.status === 429)).to.have.length(10);
    await mail.waitFor(user.email, 'support_acknowledgement');
    const mailed = () => mail.messages.filter((m) => m.to === user.email && m.template === 'support_acknowledgement').length;
    await until('every acknowledgement', () => mailed(), (n) => n === TICKETS_PER_HOUR);
    for (const path of ['/api/support/tickets', '/api/support/create']) {
      const refused = await user.http.post(path, ticket('One more'));
      expect(refused.status, refused.text).to.equal(429);
      expect(refused.body.error.code).to.equal('rate_limited');
      expect(Number(refused.headers.get('retry-after'))).to.be.within(1, 3600);
    }
    expect((await user.http.get('/api/support/tickets?limit=200')).body.tickets).to.have.length(TICKETS_PER_HOUR);
    expect(mailed()).to.equal(TICKETS_PER_HOUR);
    expect((await (await env.tk.user()).http.post('/api/support/tickets', ticket('Someone else'))).status, 'another account keeps its own allowance').to.equal(201);
  });

  it('strips control characters, keeps text as text, and refuses an over-long subject with 400', async () => {
    const user = await env.tk.user();
    const res = await user.http.post('/api/support/tickets', { subject: 'Bell\u0007 and\r\nbreak\u202e', message: 'line1\r\nline2\u001b[31m', category: 'other' });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect(res.body.ticket.subject).to.equal('Bell and break');
    const thread = await user.http.get(`/api/support/tickets/${res.body.ticket.id}`);
    expect(thread.body.messages.map((m: { body: string }) => m.body)).to.deep.equal(['line1\nline2[31m']);
    const long = await user.http.post('/api/support/tickets', ticket('x'.repeat(201)));
    expect(long.status).to.equal(400);
    expect(long.body.error.details.fields.map((f: { path: string }) => f.path)).to.include('body.subject');
    expect((await user.http.post('/api/support/tickets', ticket('\u0001\u0002'))).status, 'nothing left after cleaning').to.equal(400);
  });

  it('threads replies: a staff reply is mailed to the customer, a customer reply to the staff and the support channel', async () => {
    const user = await env.tk.user();
    const admin = await env.tk.user({ role: 'admin' });
    const opened = (await user.http.post('/api/support/tickets', ticket('Thread'))).body.ticket;

    const staff = await admin.http.post(`/api/support/tickets/${opened.id}/messages`, { message: 'Have you tried <restarting>?' });
    expect(staff.status).to.equal(201);
    expect(staff.body.message.authorRole).to.equal('staff');
    const reply = await mail.waitFor(user.email, 'support_reply');
    expect(reply.text).to.contain('Have you tried <restarting>?');
    expect(reply.html).to.contain('&#60;restarting&#62;');
    expect((await user.http.get(`/api/support/tickets/${opened.id}`)).body.ticket.status, 'waiting on the customer').to.equal('pending');

    const back = await user.http.post(`/api/support/tickets/${opened.id}/messages`, { message: 'Yes, still down' });
    expect(back.body.message.authorRole).to.equal('customer');
    const staffMail = await until('the staff copy', () => mail.messages.find((m) => m.to === 'staff@zpack.test' && m.text.includes('Yes, still down')), (m) => m !== undefined);
    expect(staffMail!.subject).to.contain(opened.number);
    await until('the support alert', () => pager.messages.find((m) => m.to === 'support' && m.text.includes('Yes, still down')), (m) => m !== undefined);

    const thread = await user.http.get(`/api/support/tickets/${opened.id}`);
    expect(thread.body.messages.map((m: { authorRole: string }) => m.authorRole)).to.deep.equal(['customer', 'staff', 'customer']);
    expect(thread.body.ticket.status).to.equal('open');
  });

  it('hides another user\'s ticket: reading or replying is 404', async () => {
    const user = await env.tk.user();
    const other = await env.tk.user();
    const opened = (await user.http.post('/api/support/tickets', ticket('Private'))).body.ticket;
    expect((await other.http.get(`/api/support/tickets/${opened.id}`)).status).to.equal(404);
    expect((await other.http.post(`/api/support/tickets/${opened.id}/messages`, { message: 'hi' })).status).to.equal(404);
  });

  it('lists a customer\'s own tickets, newest first, paged', async () => {
    const user = await env.tk.user();
    for (let i = 0; i < 3; i++) {
      await user.http.post('/api/support/tickets', ticket(`Mine ${i}`));
    }
    const first = await user.http.get('/api/support/tickets?limit=2');
    expect(first.body.tickets.map((t: { subject: string }) => t.subject)).to.deep.equal(['Mine 2', 'Mine 1']);
    const second = await user.http.get(`/api/support/tickets?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.tickets.map((t: { subject: string }) => t.subject)).to.deep.equal(['Mine 0']);
    expect(second.body.nextCursor).to.equal(null);
  });

  it('lets an admin filter, assign and change status; customers cannot reach the admin routes', async () => {
    const user = await env.tk.user();
    const admin = await env.tk.user({ role: 'admin' });
    const opened = (await user.http.post('/api/support/tickets', ticket('Assign me', { category: 'abuse' }))).body.ticket;
    expect((await user.http.get('/api/admin/support/tickets')).status).to.equal(403);

    const patched = await admin.http.patch(`/api/admin/support/tickets/${opened.id}`, { status: 'pending', assigneeId: admin.id });
    expect(patched.body.ticket).to.include({ status: 'pending', assigneeId: admin.id, email: user.email });
    const mine = await admin.http.get(`/api/admin/support/tickets?assigneeId=${admin.id}&status=pending`);
    expect(mine.body.tickets.map((t: { id: string }) => t.id)).to.deep.equal([opened.id]);
    const abuse = await admin.http.get(`/api/admin/support/tickets?category=abuse&accountId=${user.id}`);
    expect(abuse.body.tickets.map((t: { id: string }) => t.id)).to.deep.equal([opened.id]);
    const closed = await admin.http.patch(`/api/admin/support/tickets/${opened.id}`, { status: 'closed', assigneeId: null });
    expect(closed.body.ticket).to.include({ status: 'closed', assigneeId: null });
  });
});
