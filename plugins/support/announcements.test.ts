import { expect } from 'chai';
import { Announcements } from '../../kernel/api';
import { useTestKernel } from '../../kernel/testing';
import support from './index';
import { insertServer } from './testing/fixture';

const titles = (body: { announcements: Array<{ title: string }> }) => body.announcements.map((a) => a.title).sort();

describe('announcements', () => {
  const env = useTestKernel({ plugins: [support], config: { plugins: { support: { enabled: true } } } });

  it('shows a user the global ones, their account\'s and their servers\', not other users\'', async () => {
    const admin = await env.tk.user({ role: 'admin' });
    const user = await env.tk.user();
    const other = await env.tk.user();
    const serverId = await insertServer(env.tk, user.id);
    const post = (body: Record<string, unknown>) => admin.http.post('/api/admin/announcements', body);
    expect((await post({ scope: 'global', severity: 'info', title: 'G1 everyone', message: 'hello all' })).status).to.equal(201);
    expect((await post({ scope: 'account', accountId: user.id, severity: 'warning', title: 'A1 your account', message: 'pay up' })).status).to.equal(201);
    const server = await post({ scope: 'server', serverId, severity: 'critical', title: 'S1 your server', message: 'node down' });
    expect(server.body.announcement).to.include({ accountId: user.id, serverId });
    await post({ scope: 'account', accountId: other.id, title: 'A2 other account', message: 'not yours' });
    await post({ scope: 'global', title: 'G2 later', message: 'not yet', startsAt: new Date(Date.now() + 3600_000).toISOString() });
    await post({ scope: 'global', title: 'G3 over', message: 'gone', startsAt: new Date(Date.now() - 7200_000).toISOString(), expiresAt: new Date(Date.now() - 3600_000).toISOString() });

    const mine = await user.http.get('/api/announcements');
    expect(mine.status).to.equal(200);
    expect(titles(mine.body).filter((t: string) => /^[GAS]\d /.test(t))).to.deep.equal(['A1 your account', 'G1 everyone', 'S1 your server']);
    expect(mine.body.announcements.find((a: { title: string }) => a.title === 'S1 your server')).to.include({ scope: 'server', serverId, severity: 'critical', dismissed: false });
    expect(titles((await other.http.get('/api/announcements')).body)).to.not.include('A1 your account');
  });

  it('marks an announcement dismissed for the user who dismissed it only; a foreign one is 404', async () => {
    const admin = await env.tk.user({ role: 'admin' });
    const a = await env.tk.user();
    const b = await env.tk.user();
    const { id } = (await admin.http.post('/api/admin/announcements', { scope: 'global', title: 'Dismiss me', message: 'x' })).body.announcement;
    expect((await a.http.post(`/api/announcements/${id}/dismiss`)).status).to.equal(204);
    expect((await a.http.post(`/api/announcements/${id}/dismiss`)).status, 'again').to.equal(204);
    const seen = (u: typeof a) => u.http.get('/api/announcements').then((r) => r.body.announcements.find((x: { id: string }) => x.id === id));
    expect(await seen(a)).to.include({ dismissed: true });
    expect(await seen(b)).to.include({ dismissed: false });
    const theirs = (await admin.http.post('/api/admin/announcements', { scope: 'account', accountId: b.id, title: 'For b', message: 'x' })).body.announcement;
    expect((await a.http.post(`/api/announcements/${theirs.id}/dismiss`)).status).to.equal(404);
  });

  it('lets an admin edit and expire one; customers cannot create', async () => {
    const admin = await env.tk.user({ role: 'admin' });
    const user = await env.tk.user();
    expect((await user.http.post('/api/admin/announcements', { scope: 'global', title: 'x', message: 'y' })).status).to.equal(403);
    const { id } = (await admin.http.post('/api/admin/announcements', { scope: 'global', title: 'Draft', message: 'x' })).body.announcement;
    const edited = await admin.http.patch(`/api/admin/announcements/${id}`, { title: 'Final', severity: 'warning' });
    expect(edited.body.announcement).to.include({ title: 'Final', severity: 'warning' });
    expect(titles((await user.http.get('/api/announcements')).body)).to.include('Final');
    const expired = await admin.http.post(`/api/admin/announcements/${id}/expire`);
    expect(expired.status).to.equal(200);
    expect(expired.body.announcement.expiresAt).to.be.a('string');
    expect(titles((await user.http.get('/api/announcements')).body)).to.not.include('Final');
    const listed = await admin.http.get('/api/admin/announcements?active=false&scope=global');
    expect(listed.body.announcements.some((a: { id: string }) => a.id === id)).to.equal(true);
  });

  it('gives other plugins a board keyed by their own names: posting a key again updates it, expire ends it', async () => {
    const user = await env.tk.user();
    const board = env.tk.kernel.resolve(Announcements);
    const key = `billing:${user.id}`;
    const first = await board.post({ key, audience: { scope: 'account', accountId: user.id }, severity: 'warning', title: 'Payment failed', message: 'Update your card' });
    const second = await board.post({ key, audience: { scope: 'account', accountId: user.id }, severity: 'critical', title: 'Final notice', message: 'Servers stop soon' });
    expect(second.id).to.equal(first.id);
    const shown = (await user.http.get('/api/announcements')).body.announcements.filter((a: { id: string }) => a.id === first.id);
    expect(shown).to.have.length(1);
    expect(shown[0]).to.include({ title: 'Final notice', severity: 'critical', scope: 'account' });
    await board.expire(key);
    expect((await user.http.get('/api/announcements')).body.announcements.some((a: { id: string }) => a.id === first.id)).to.equal(false);
  });
});
