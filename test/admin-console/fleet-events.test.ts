import { expect } from 'chai';
import { Instance } from '../../kernel/core/entities';
import { useTestKernel } from '../harness';

describe('GET /api/admin/events', () => {
  const env = useTestKernel({ config: { server: { events: { pollMs: 50, heartbeatMs: 1000 } } } });

  it('streams a `server` event when a server row changes, to operators only', async () => {
    const { tk } = env;
    const admin = await tk.user({ role: 'admin' });
    const owner = await tk.user();
    const plain = await fetch(`${tk.url}/api/admin/events`, { headers: { authorization: `Bearer ${owner.accessToken}` } });
    expect(plain.status).to.equal(403);

    const stop = new AbortController();
    const res = await fetch(`${tk.url}/api/admin/events`, { headers: { authorization: `Bearer ${admin.accessToken}` }, signal: stop.signal });
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    await reader.read();
    const repo = tk.kernel.ds.getRepository(Instance);
    const row = await repo.save(repo.create({ ownerId: owner.id, kind: 'game', type: 'minecraft', name: 'evented', state: 'running', node: 'pve1' }));
    let text = '';
    const deadline = Date.now() + 10_000;
    while (!text.includes(row.id) && Date.now() < deadline) text += (await reader.read()).value ?? '';
    stop.abort();
    const frame = text.split('\n\n').find((f) => f.includes(row.id))!;
    expect(frame).to.match(/^event: server$/m);
    const data = JSON.parse(/^data: (.*)$/m.exec(frame)![1]);
    expect(data).to.include({ id: row.id, state: 'running', node: 'pve1', deleted: false });
  });
});
