import { expect } from 'chai';
import { z } from 'zod';
import { KernelQueue, Notifier, Tokens, definePlugin } from '../../kernel/api';
import { MemoryNotifier } from '../../kernel/testing';
import supportPlugin from '../../plugins/support';
import { startTestKernel, type TestKernel, type TestUser } from '../harness';
import { create, fleetConfig, fleetPlugins, settle, startFleet, type Fleet } from '../provisioning/fixture';

const mail = new MemoryNotifier('mail', ['owner']);
const mailPlugin = definePlugin({ name: 'mail', version: '1.0.0', kernelApi: '2', config: z.object({}), register: (ctx) => ctx.provide(Notifier, () => mail) });
const iso = (ms: number) => new Date(Date.now() + ms).toISOString();
const HOUR = 3600_000;

describe('Maintenance windows', () => {
  let fleet: Fleet;
  let tk: TestKernel;
  let admin: TestUser;
  let onPve1: { user: TestUser; id: string };
  let onPve2: { user: TestUser; id: string };

  async function server(user: TestUser, key: string): Promise<{ id: string; node: string; op: any }> {
    const op = await settle(user, (await create(user, key)).body.operation.id);
    const [row] = op.instanceId ? await tk.kernel.ds.query(`SELECT node FROM instance WHERE id = $1`, [op.instanceId]) : [{ node: null }];
    return { id: op.instanceId, node: row?.node, op };
  }
  const schedule = (body: Record<string, unknown>) => admin.http.post('/api/admin/maintenance', { message: 'Kernel upgrade', ...body });

  before(async () => {
    fleet = await startFleet({ nodes: ['pve1', 'pve2'] });
    tk = await startTestKernel({
      plugins: [...fleetPlugins, supportPlugin, mailPlugin],
      config: fleetConfig(fleet, {
        maintenance: { noticeHours: 24 },
        plugins: {
          proxmox: { options: { nodes: ['pve1', 'pve2'] } },
          support: { enabled: true, options: {} },
          mail: { enabled: true, options: {} },
        },
      }),
    });
    admin = await tk.user({ role: 'admin' });
    const u1 = await tk.user();
    const u2 = await tk.user();
    const a = await server(u1, 'first');
    const b = await server(u2, 'second');
    expect([a.node, b.node], 'the least loaded node each time').to.deep.equal(['pve1', 'pve2']);
    onPve1 = { user: u1, id: a.id };
    onPve2 = { user: u2, id: b.id };
  });
  after(async () => {
    await tk?.stop();
    await fleet?.stop();
  });

  it('refuses a window that ends before it starts, and customers', async () => {
    expect((await schedule({ scope: { node: 'pve1' }, startsAt: iso(HOUR), endsAt: iso(0) })).status).to.equal(400);
    expect((await onPve1.user.http.post('/api/admin/maintenance', { scope: 'fleet', startsAt: iso(0), endsAt: iso(HOUR), message: 'x' })).status).to.equal(403);
  });

  it('tells the customers on the node, ahead of time and when it begins, with an announcement on each of their servers', async () => {
    const startsAt = iso(2 * HOUR);
    const res = await schedule({ scope: { node: 'pve1' }, startsAt, endsAt: iso(3 * HOUR), message: 'New kernel <b>6.8</b>' });
    expect(res.status).to.equal(201);
    expect(res.body.window).to.include({ message: 'New kernel <b>6.8</b>' });
    expect(res.body.window.scope).to.deep.equal({ node: 'pve1' });

    const notice = await mail.waitFor(onPve1.user.email, 'maintenance_scheduled');
    expect(notice.text).to.contain('New kernel <b>6.8</b>').and.to.contain('"Survival"');
    expect(notice.html).to.contain('New kernel &#60;b&#62;6.8&#60;/b&#62;');
    const shown = (await onPve1.user.http.get('/api/announcements')).body.announcements;
    expect(shown.map((a: { serverId: string; title: string }) => [a.serverId, a.title])).to.deep.include([onPve1.id, 'Planned maintenance']);
    expect((await onPve2.user.http.get('/api/announcements')).body.announcements).to.deep.equal([]);
    expect(mail.messages.filter((m) => m.to === onPve2.user.email && m.template.startsWith('maintenance'))).to.deep.equal([]);

    // Told once: the repeatable check finds nothing more to say until it begins.
    expect(await tk.kernel.maintenance.notices()).to.deep.equal({ scheduled: 0, starting: 0 });
    expect(await tk.kernel.maintenance.notices(new Date(Date.parse(startsAt) + 60_000))).to.deep.equal({ scheduled: 0, starting: 1 });
    await mail.waitFor(onPve1.user.email, 'maintenance_starting');
    expect(mail.messages.filter((m) => m.to === onPve1.user.email && m.template === 'maintenance_scheduled')).to.have.length(1);
  });

  it('places no new server on a node while it is in a window', async () => {
    expect((await schedule({ scope: { node: 'pve1' }, startsAt: iso(-60_000), endsAt: iso(HOUR) })).status).to.equal(201);
    expect(await tk.kernel.resolve(Tokens.Maintenance).activeFor('pve1')).to.include({ node: 'pve1' });
    expect(await tk.kernel.resolve(Tokens.Maintenance).activeFor('pve2')).to.equal(null);
    const user = await tk.user();
    const placed = [];
    for (let i = 0; i < 3; i++) placed.push((await server(user, `during-${i}`)).node);
    expect(placed, 'pve1 holds fewer servers, yet none goes there').to.deep.equal(['pve2', 'pve2', 'pve2']);
    expect((await mail.waitFor(user.email, 'server_ready')).subject).to.equal('Your server "Survival" is ready');
  });

  it('records a crash on a node in a window and does not restart it; elsewhere the supervisor restarts as usual', async () => {
    const crash = (instanceId: string) => tk.http.post('/api/agent/events', {
      type: 'crash', instanceId, at: new Date().toISOString(), exitCode: 1, signal: null, uptimeSeconds: 5, logTail: ['boom'],
    }, { token: tk.kernel.resolve(Tokens.AgentTokens).tokenFor(instanceId) });
    expect((await crash(onPve1.id)).status).to.equal(202);
    expect((await crash(onPve2.id)).status).to.equal(202);
    const action = async (u: typeof onPve1) => (await u.user.http.get(`/api/servers/${u.id}/crashes`)).body.crashes[0];
    expect(await action(onPve1)).to.include({ supervisorAction: 'none_maintenance', restartAt: null });
    expect((await action(onPve2)).supervisorAction).to.equal('restart_1');
    const restarts = (await tk.kernel.queues.queue(KernelQueue.provisioning).getDelayed()).filter((j) => j.name === 'instance.restart');
    expect(restarts.map((j) => j.data.instanceId)).to.deep.equal([onPve2.id]);
    expect((await onPve1.user.http.get(`/api/servers/${onPve1.id}`)).body.server.state).to.equal('crashed');
    const told = await mail.waitFor(onPve1.user.email, 'server_crashed');
    expect(told.text).to.contain('maintenance window');

    // A restart already scheduled before the window began is skipped too.
    await tk.kernel.supervisor.restart(onPve1.id, (await action(onPve1)).id);
    expect((await onPve1.user.http.get(`/api/servers/${onPve1.id}`)).body.server.state).to.equal('crashed');
  });

  it('fails a create with code maintenance while the whole fleet is in a window', async () => {
    expect((await schedule({ scope: 'fleet', startsAt: iso(-60_000), endsAt: iso(HOUR) })).status).to.equal(201);
    const user = await tk.user();
    const { op } = await server(user, 'fleet-down');
    expect(op.state).to.equal('failed');
    expect(op.error).to.include({ code: 'maintenance' });
    const failed = await mail.waitFor(user.email, 'provisioning_failed');
    expect(failed.subject).to.equal('Your server "Survival" could not be created');
    expect(failed.text).to.contain('maintenance');
    const listed = await admin.http.get('/api/admin/maintenance');
    expect(listed.body.windows.map((w: { scope: unknown }) => w.scope)).to.deep.include('fleet');
  });
});
