import { expect } from 'chai';
import { z } from 'zod';
import { BillingGate, Tokens, definePlugin, type EnforcementState, type MaintenanceCalendar, type MaintenanceWindowView } from '../../kernel/api';
import { SCHEDULE_JOB, schedulerIdOf } from '../../kernel/core/schedules/runner';
import { cronProblem } from '../../kernel/core/schedules/cron';
import { startTestKernel, type TestKernel, type TestUser } from '../harness';
import { gameServer, markRequests } from '../files/api-fixture';
import { fleetConfig, fleetPlugins, startFleet, waitFor, type Fleet } from '../provisioning/fixture';
import { subuser } from './fixture';

/** Billing as the test sets it, per account. */
const states = new Map<string, EnforcementState>();
const testBilling = definePlugin({
  name: 'test-billing', version: '1.0.0', kernelApi: '2', config: z.object({}),
  register(ctx) {
    ctx.provide(BillingGate, () => new (class extends BillingGate {
      async stateOf(accountId: string): Promise<EnforcementState> {
        return states.get(accountId) ?? 'active';
      }
    })());
  },
});

/** A maintenance calendar the test opens and closes (the real store is another component). */
class TestCalendar implements MaintenanceCalendar {
  window: MaintenanceWindowView | null = null;
  async activeFor(): Promise<MaintenanceWindowView | null> {
    return this.window;
  }
}

describe('Schedules', function () {
  this.timeout(90_000);
  let fleet: Fleet;
  let a: TestKernel;
  let b: TestKernel;
  let owner: TestUser;
  let serverId: string;
  let vmid: number;
  const calendar = new TestCalendar();

  before(async () => {
    fleet = await startFleet();
    const config = { management: { schedules: { minIntervalSeconds: 2 } }, plugins: { 'test-billing': { enabled: true } } };
    const overrides = [{ token: Tokens.Maintenance, value: calendar }];
    const plugins = [...fleetPlugins, testBilling];
    a = await startTestKernel({ plugins, overrides, config: fleetConfig(fleet, config) });
    b = await startTestKernel({
      plugins, overrides, schema: a.schema, prefix: a.prefix,
      config: fleetConfig(fleet, { ...config, role: 'schedule-worker', database: { dropSchemaOnStop: false } }),
    });
    owner = await a.user();
    ({ id: serverId, vmid } = await gameServer(owner, 'schedules'));
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
    await fleet?.stop();
  });
  afterEach(() => {
    states.clear();
    calendar.window = null;
  });

  const schedules = `/api/servers/${'{id}'}/schedules`;
  const url = (suffix = '') => `${schedules.replace('{id}', serverId)}${suffix}`;
  const restartEveryMinute = { name: 'nightly', cron: '* * * * *', timezone: 'Europe/Berlin', tasks: [{ action: 'power', payload: { action: 'restart' } }] };
  const runs = async (scheduleId: string) =>
    (await a.kernel.ds.query(`SELECT tick_at, outcome, result FROM schedule_run WHERE schedule_id = $1 ORDER BY tick_at`, [scheduleId])) as any[];

  describe('bad input', () => {
    it('refuses a cron firing more often than the configured minimum interval (400), a bad expression and an unknown time zone', async () => {
      const everySecond = await owner.http.post(url(), { ...restartEveryMinute, cron: '* * * * * *' });
      expect(everySecond.status).to.equal(400);
      expect(everySecond.body.error.details).to.deep.include({ minIntervalSeconds: 2 });
      expect((await owner.http.post(url(), { ...restartEveryMinute, cron: '61 * * * *' })).status).to.equal(400);
      expect((await owner.http.post(url(), { ...restartEveryMinute, timezone: 'Mars/Olympus' })).status).to.equal(400);
      expect((await owner.http.post(url(), { ...restartEveryMinute, tasks: [{ action: 'power', payload: { action: 'explode' } }] })).status).to.equal(400);
      expect((await owner.http.post(url(), { ...restartEveryMinute, tasks: [] })).status).to.equal(400);
    });

    it('measures the shortest gap of the expression, not its first one (with the default 300 s minimum)', () => {
      expect(cronProblem('*/5 * * * *', 'UTC', 300)).to.equal(undefined);
      expect(cronProblem('*/2 * * * *', 'UTC', 300)).to.match(/more often than every 300 s/);
      expect(cronProblem('0,2 * * * *', 'UTC', 300)).to.match(/more often/);
      expect(cronProblem('30 2 * * *', 'America/New_York', 300)).to.equal(undefined);
      expect(cronProblem('*/10 * * * * *', 'UTC', 300)).to.match(/seconds field/);
    });

    it('a subuser without the schedules permission cannot see or add schedules (403)', async () => {
      const guest = await subuser(a, owner, serverId, ['console']);
      expect((await guest.http.get(url())).status).to.equal(403);
      expect((await guest.http.post(url(), restartEveryMinute)).status).to.equal(403);
    });

    it('a subuser with schedules alone cannot write a task its permissions do not allow: command needs console, power power, backup backups (403)', async () => {
      const guest = await subuser(a, owner, serverId, ['schedules']);
      const count = async () => Number((await a.kernel.ds.query(`SELECT count(*) AS n FROM schedule WHERE instance_id = $1`, [serverId]))[0].n);
      const before = await count();
      const tasks = { command: { command: 'op intruder' }, power: { action: 'stop' }, backup: {} } as const;
      const needs = { command: 'console', power: 'power', backup: 'backups' } as const;
      for (const [action, payload] of Object.entries(tasks)) {
        const res = await guest.http.post(url(), { ...restartEveryMinute, tasks: [{ action, payload }] });
        expect(res.status, `${action}: ${res.text}`).to.equal(403);
        expect(res.body.error.details).to.deep.equal({ permission: needs[action as keyof typeof needs] });
      }
      const owned = await owner.http.post(url(), { ...restartEveryMinute, name: 'owner-made', enabled: false });
      expect(owned.status, owned.text).to.equal(201);
      const rewrite = await guest.http.patch(url(`/${owned.body.schedule.id}`), { tasks: [{ action: 'command', payload: tasks.command }] });
      expect(rewrite.status, rewrite.text).to.equal(403);
      // Nothing was stored: no schedule of the guest's, and the owner's keeps its task.
      expect(await count()).to.equal(before + 1);
      const [kept] = await a.kernel.ds.query(`SELECT tasks FROM schedule WHERE id = $1`, [owned.body.schedule.id]);
      expect(kept.tasks.map((t: { action: string }) => t.action)).to.deep.equal(['power']);
      // Nor may it change or run the owner's schedule of power tasks: a cron every 5 minutes, or "run now", is power at will.
      expect((await guest.http.patch(url(`/${owned.body.schedule.id}`), { cron: '*/5 * * * *', enabled: true })).status).to.equal(403);
      expect((await guest.http.post(url(`/${owned.body.schedule.id}/run`))).status).to.equal(403);
      const [after] = await a.kernel.ds.query(`SELECT cron, enabled, last_result FROM schedule WHERE id = $1`, [owned.body.schedule.id]);
      expect(after).to.deep.include({ cron: restartEveryMinute.cron, enabled: false, last_result: null });
      const withPower = await subuser(a, owner, serverId, ['schedules', 'power']);
      expect((await withPower.http.patch(url(`/${owned.body.schedule.id}`), { name: 'renamed' })).status).to.equal(200);
      expect((await owner.http.delete(url(`/${owned.body.schedule.id}`))).status).to.equal(204);
    });

    it('a subuser holding the task’s permission writes it, and an API key needs the task’s scope (command: console)', async () => {
      const guest = await subuser(a, owner, serverId, ['schedules', 'power']);
      const made = await guest.http.post(url(), { ...restartEveryMinute, name: 'guest-made', enabled: false });
      expect(made.status, made.text).to.equal(201);
      const key = (await owner.http.post('/api/me/api-keys', { name: 'ops', scopes: ['servers.write'] })).body.secret;
      const byKey = await a.http.as(key).post(url(), { ...restartEveryMinute, tasks: [{ action: 'command', payload: { command: 'op intruder' } }] });
      expect(byKey.status, byKey.text).to.equal(403);
      expect(byKey.body.error.details).to.deep.equal({ scope: 'console' });
      expect((await owner.http.delete(url(`/${made.body.schedule.id}`))).status).to.equal(204);
    });
  });

  it('creates a BullMQ job scheduler for the schedule, in the owner’s time zone, and shows the next run', async () => {
    const res = await owner.http.post(url(), restartEveryMinute);
    expect(res.status, res.text).to.equal(201);
    const { schedule } = res.body;
    expect(Date.parse(schedule.nextRunAt) - Date.now()).to.be.within(0, 60_000);
    const scheduler = await a.kernel.queues.queue(a.kernel.scheduleQueue).getJobScheduler(schedulerIdOf(schedule.id));
    expect(scheduler).to.deep.include({ pattern: '* * * * *', tz: 'Europe/Berlin' });
    const off = await owner.http.patch(url(`/${schedule.id}`), { enabled: false });
    expect(off.body.schedule.nextRunAt).to.equal(null);
    expect(await a.kernel.queues.queue(a.kernel.scheduleQueue).getJobScheduler(schedulerIdOf(schedule.id))).to.equal(undefined);
    expect((await owner.http.delete(url(`/${schedule.id}`))).status).to.equal(204);
  });

  it('two workers and one schedule ticking every minute for 5 simulated minutes: 5 runs, not 10', async () => {
    const { schedule } = (await owner.http.post(url(), { ...restartEveryMinute, enabled: false })).body;
    await owner.http.patch(url(`/${schedule.id}`), { enabled: true });
    // The live scheduler would fire at the next real minute: this test drives the ticks itself.
    await a.kernel.schedules.remove(schedule.id);
    const agent = markRequests(fleet);
    const queue = a.kernel.queues.queue(a.kernel.scheduleQueue);
    const start = Math.ceil(Date.now() / 60_000) * 60_000;
    for (let minute = 0; minute < 5; minute++) {
      const tick = start + minute * 60_000;
      // Each tick reaches the queue twice (a second scheduler, a stalled job handed out again), and both processes run it at once.
      await queue.add(SCHEDULE_JOB, { scheduleId: schedule.id }, { jobId: `repeat:${schedulerIdOf(schedule.id)}:${tick}` });
      await queue.add(SCHEDULE_JOB, { scheduleId: schedule.id, tickAt: tick }, { jobId: `redelivered-${schedule.id}-${tick}` });
      await Promise.all([a.kernel.schedules.fire(schedule.id, new Date(tick)), b.kernel.schedules.fire(schedule.id, new Date(tick))]);
    }
    await waitFor(async () => (await queue.getJobCounts('waiting', 'active', 'delayed')).waiting === 0
      && (await queue.getJobCounts('active')).active === 0, 'the schedule queue is drained');
    const done = await runs(schedule.id);
    expect(done.map((r) => r.tick_at.getTime())).to.deep.equal([0, 1, 2, 3, 4].map((m) => start + m * 60_000));
    expect(done.every((r) => r.outcome === 'succeeded')).to.equal(true);
    expect(agent.since(vmid).filter((r) => r.method === 'POST' && r.path === '/power')).to.have.length(5);
    const activity = (await owner.http.get(`/api/servers/${serverId}/activity?event=schedule.run`)).body.activity;
    expect(activity.filter((e: any) => e.actor.id === schedule.id)).to.have.length(5);
    expect(activity[0].actor).to.deep.equal({ type: 'schedule', id: schedule.id });
    await owner.http.delete(url(`/${schedule.id}`));
  });

  it('fires through the real job scheduler: each tick once across both workers', async () => {
    const every2s = { name: 'often', cron: '*/2 * * * * *', timezone: 'UTC', tasks: [{ action: 'command', payload: { command: 'say scheduled' } }] };
    const { schedule } = (await owner.http.post(url(), every2s)).body;
    await waitFor(async () => (await runs(schedule.id)).length >= 3, 'three ticks ran', 20_000);
    await owner.http.patch(url(`/${schedule.id}`), { enabled: false });
    await new Promise((r) => setTimeout(r, 500));
    const done = await runs(schedule.id);
    const ticks = done.map((r) => r.tick_at.getTime());
    expect(new Set(ticks).size).to.equal(ticks.length);
    expect(ticks.every((t) => t % 2000 === 0)).to.equal(true);
    const events = await a.kernel.ds.query(`SELECT count(*)::int AS n FROM activity_event WHERE actor_id = $1 AND event = 'schedule.run'`, [schedule.id]);
    expect(events[0].n).to.equal(ticks.length);
    await owner.http.delete(url(`/${schedule.id}`));
  });

  it('never runs for a suspended owner, and skips during a maintenance window or while offline, recording the reason', async () => {
    const { schedule } = (await owner.http.post(url(), { ...restartEveryMinute, onlyWhenOnline: true })).body;
    await a.kernel.schedules.remove(schedule.id);
    const agent = markRequests(fleet);
    states.set(owner.id, 'suspended');
    expect((await a.kernel.schedules.fire(schedule.id, new Date(Date.UTC(2030, 0, 1, 0, 0))))?.reason).to.equal('account_suspended');
    states.clear();
    calendar.window = { id: 'w1', node: null, startsAt: new Date(), endsAt: new Date(Date.now() + 3600_000), message: 'kernel upgrade' };
    expect((await a.kernel.schedules.fire(schedule.id, new Date(Date.UTC(2030, 0, 1, 0, 1))))?.reason).to.equal('maintenance: kernel upgrade');
    calendar.window = null;
    await a.kernel.ds.query(`UPDATE instance SET state = 'stopped' WHERE id = $1`, [serverId]);
    expect((await a.kernel.schedules.fire(schedule.id, new Date(Date.UTC(2030, 0, 1, 0, 2))))?.reason).to.equal('server_offline');
    await a.kernel.ds.query(`UPDATE instance SET state = 'running' WHERE id = $1`, [serverId]);
    expect(agent.since(vmid).filter((r) => r.path === '/power')).to.deep.equal([]);
    expect((await runs(schedule.id)).map((r) => r.outcome)).to.deep.equal(['skipped', 'skipped', 'skipped']);
    const shown = (await owner.http.get(url())).body.schedules.find((s: any) => s.id === schedule.id);
    expect(shown.lastResult).to.deep.include({ outcome: 'skipped', reason: 'server_offline' });
    await owner.http.delete(url(`/${schedule.id}`));
  });

  it('runs the tasks in order on "run now", stopping at a failure unless the task may continue', async () => {
    const body = {
      name: 'ordered', cron: '0 4 * * *', timezone: 'UTC',
      tasks: [
        { action: 'command', payload: { command: 'say first' } },
        { action: 'power', payload: { action: 'restart' }, continueOnFailure: true },
        { action: 'command', payload: { command: 'say third' }, delaySeconds: 1 },
      ],
    };
    const { schedule } = (await owner.http.post(url(), body)).body;
    fleet.agents.faults.failNext(1, 500);
    const started = Date.now();
    // The failure hits the first agent call: the console of the first task, which may not continue.
    expect((await owner.http.post(url(`/${schedule.id}/run`))).status).to.equal(202);
    const first = await waitFor(async () => (await owner.http.get(url())).body.schedules.find((s: any) => s.id === schedule.id).lastResult, 'the run finished');
    expect(first.outcome).to.equal('failed');
    expect(first.tasks).to.have.length(1);
    await new Promise((r) => setTimeout(r, 5));
    await a.kernel.schedules.runNow(schedule.id);
    const second = await waitFor(async () => {
      const last = (await owner.http.get(url())).body.schedules.find((s: any) => s.id === schedule.id).lastResult;
      return last.tasks?.length === 3 ? last : undefined;
    }, 'the second run finished');
    expect(second.outcome).to.equal('succeeded');
    expect(second.tasks.map((t: any) => t.action)).to.deep.equal(['command', 'power', 'command']);
    expect(Date.now() - started).to.be.at.least(1000);
    await owner.http.delete(url(`/${schedule.id}`));
  });
});
