import { expect } from 'chai';
import { useTestKernel } from '../../kernel/testing';
import support from './index';

describe('GET/PUT /api/notes', () => {
  const env = useTestKernel({ plugins: [support], config: { plugins: { support: { enabled: true, options: { notesMaxBytes: 2048 } } } } });

  it('starts empty, with an ETag, and keeps what was saved across sessions', async () => {
    const user = await env.tk.user();
    const empty = await user.http.get('/api/notes');
    expect(empty.status).to.equal(200);
    expect(empty.body).to.deep.equal({ note: { content: '', updatedAt: null } });
    expect(empty.headers.get('etag')!).to.match(/^"/);
    const saved = await user.http.put('/api/notes', { content: 'buy more RAM\r\nback up the world' }, { headers: { 'if-match': empty.headers.get('etag')! } });
    expect(saved.status).to.equal(200);
    expect(saved.body.note.content).to.equal('buy more RAM\nback up the world');

    const login = await env.tk.http.post('/api/auth/login', { email: user.email, password: user.password });
    const again = await env.tk.http.as(login.body.accessToken).get('/api/notes');
    expect(again.body.note.content).to.equal('buy more RAM\nback up the world');
    expect(again.headers.get('etag')!).to.equal(saved.headers.get('etag')!);
  });

  it('answers 304 to If-None-Match with the current ETag', async () => {
    const user = await env.tk.user();
    const first = await user.http.get('/api/notes');
    const cached = await user.http.get('/api/notes', { headers: { 'if-none-match': first.headers.get('etag')! } });
    expect(cached.status).to.equal(304);
  });

  it('refuses a write made against a stale version with 412, keeping the other tab\'s text', async () => {
    const user = await env.tk.user();
    const read = await user.http.get('/api/notes');
    const tabA = await user.http.put('/api/notes', { content: 'from tab A' }, { headers: { 'if-match': read.headers.get('etag')! } });
    expect(tabA.status).to.equal(200);
    const tabB = await user.http.put('/api/notes', { content: 'from tab B' }, { headers: { 'if-match': read.headers.get('etag')! } });
    expect(tabB.status).to.equal(412);
    expect(tabB.body.error.code).to.equal('precondition_failed');
    expect((await user.http.get('/api/notes')).body.note.content).to.equal('from tab A');
  });

  it('lets exactly one of two concurrent writes of the same version through', async () => {
    const user = await env.tk.user();
    const { headers: got } = await user.http.get('/api/notes');
    const answers = await Promise.all(['one', 'two'].map((content) => user.http.put('/api/notes', { content }, { headers: { 'if-match': got.get('etag')! } })));
    expect(answers.map((a) => a.status).sort()).to.deep.equal([200, 412]);
  });

  it('refuses a notepad over the size cap with 413 and keeps the old one', async () => {
    const user = await env.tk.user();
    await user.http.put('/api/notes', { content: 'small' });
    const big = await user.http.put('/api/notes', { content: 'é'.repeat(1025) });
    expect(big.status).to.equal(413);
    expect(big.body.error.code).to.equal('payload_too_large');
    expect((await user.http.get('/api/notes')).body.note.content).to.equal('small');
  });

  it('keeps each user\'s notepad their own', async () => {
    const a = await env.tk.user();
    const b = await env.tk.user();
    await a.http.put('/api/notes', { content: 'secret of a' });
    expect((await b.http.get('/api/notes')).body.note.content).to.equal('');
  });
});
