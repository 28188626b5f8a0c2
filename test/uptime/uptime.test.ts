import { expect } from 'chai';
import { Tokens } from '../../kernel/api';
import type { MaintenanceCalendar, MaintenanceWindowView } from '../../kernel/api';
import { FakeClock } from '../../kernel/testing';
import { hourSlices } from '../../kernel/core/uptime/history';
import type { TestKernel, TestUser } from '../harness';
import { create, settle, startFleet, startFleetKernel, type Fleet } from '../provisioning/fixture';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** A calendar holding fixed windows, answering the history query as the maintenance store does. */
class FixedCalendar implements MaintenanceCalendar {
  windows: MaintenanceWindowView[] = [];
  async activeFor(node: string | null, at = new Date()): Promise<MaintenanceWindowView | null> {
    return this.windows.find((w) => (w.node === null || w.node === node) && w.startsAt <= at && at < w.endsAt) ?? null;
  }
  async between(node: string | null, from: Date, to: Date): Promise<MaintenanceWindowView[]> {
    return this.windows.filter((w) => (w.node === null || w.node === node) && w.startsAt < to && w.endsAt > from);
  }
}

/** Ready time over observed time per UTC day of a timeline of [at, ready] steps ending at `now`. */
function expectedDays(steps: Array<[number, boolean]>, now: number): Map<string, number> {
  const per = new Map<string, { ready: number; observed: number }>();
  steps.forEach(([at, ready], i) => {
    for (const s of hourSlices(at, i + 1 < steps.length ? steps[i + 1][0] : now)) {
      const day = s.hour.toISOString().slice(0, 10);
      const d = per.get(day) ?? { ready: 0, observed: 0 };
      d.observed += s.ms;
      if (ready) d.ready += s.ms;
      per.set(day, d);
    }
  });
  return new Map([...per].map(([day, d]) => [day, Math.round((d.ready / d.observed) * 10_000) / 100]));
}

describe('GET /api/servers/:id/uptime', () => {
  let fleet: Fleet;
  let tk: TestKernel;
  let owner: TestUser;
  const clock = new FakeClock();
  const calendar = new FixedCalendar();

  before(async () => {
    fleet = await startFleet();
    tk = await startFleetKernel(fleet, {
      config: { supervisor: { maxRestarts: 0 } },
      overrides: [{ token: Tokens.Clock, value: clock }, { token: Tokens.Maintenance, value: calendar }],
    });
    owner = await tk.user();
  });
  after(async () => {
    await tk?.stop();
    await fleet?.stop();
  });

  it('shows a known crash and a known maintenance window as incidents with their durations, and the ready share per day', async () => {
    const op = await settle(owner, (await create(owner, 'uptime')).body.operation.id);
    expect(op.state).to.equal('succeeded');
    const id = op.instanceId as string;
    const node = (await tk.kernel.ds.query(`SELECT node FROM instance WHERE id = $1`, [id]))[0].node as string;
    const [ready] = await tk.kernel.ds.query(`SELECT at FROM uptime_state WHERE instance_id = $1`, [id]);
    const t0 = (ready.at as Date).getTime();

    // One hour up, then the server crashes out of memory (the agent's event) and stays down ten minutes.
    clock.advance(HOUR);
    const crash = await tk.http.post('/api/agent/events', {
      type: 'crash', instanceId: id, at: new Date(t0 + HOUR).toISOString(), exitCode: 137, signal: null, uptimeSeconds: 3600,
      logTail: ['java.lang.OutOfMemoryError: Java heap space'],
    }, { token: tk.kernel.resolve(Tokens.AgentTokens).tokenFor(id) });
    expect(crash.status).to.equal(202);
    expect(crash.body.classification).to.equal('oom');
    clock.advance(10 * MINUTE);
    await tk.kernel.resolve(Tokens.Uptime).record({ instanceId: id, ready: true });
    // A 30-minute maintenance window on its node an hour later.
    calendar.windows.push({ id: 'w1', node, startsAt: new Date(t0 + 2 * HOUR), endsAt: new Date(t0 + 2.5 * HOUR), message: 'kernel update' });
    calendar.windows.push({ id: 'w2', node: 'another-node', startsAt: new Date(t0 + 2 * HOUR), endsAt: new Date(t0 + 3 * HOUR), message: 'not ours' });
    clock.advance(HOUR + 50 * MINUTE);

    const res = await owner.http.get(`/api/servers/${id}/uptime?days=30`);
    expect(res.status).to.equal(200);
    const incidents = res.body.incidents.map((i: any) => ({ cause: i.cause, seconds: (Date.parse(i.endedAt) - Date.parse(i.startedAt)) / 1000 }));
    expect(incidents).to.deep.equal([{ cause: 'oom', seconds: 600 }, { cause: 'maintenance', seconds: 1800 }]);
    expect(res.body.incidents[0].startedAt).to.equal(new Date(t0 + HOUR).toISOString());

    expect(res.body.days).to.have.length(30);
    expect(res.body.days.at(-1).date).to.equal(clock.now().toISOString().slice(0, 10));
    const want = expectedDays([[t0, true], [t0 + HOUR, false], [t0 + HOUR + 10 * MINUTE, true]], clock.now().getTime());
    const got = new Map(res.body.days.filter((d: any) => d.uptimePercent !== null).map((d: any) => [d.date, d.uptimePercent]));
    expect(got).to.deep.equal(want);
  });

  it('rolls the closed spans up per hour', async () => {
    const rows = await tk.kernel.ds.query(`SELECT sum(ready_ms)::bigint AS ready, sum(observed_ms)::bigint AS observed FROM uptime_hour`);
    expect(Number(rows[0].observed)).to.equal(HOUR + 10 * MINUTE);
    expect(Number(rows[0].ready)).to.equal(HOUR);
  });

  it('is 404 for someone else’s server and 400 beyond 90 days', async () => {
    const [{ instance_id: id }] = await tk.kernel.ds.query(`SELECT instance_id FROM uptime_state LIMIT 1`);
    const stranger = await tk.user();
    expect((await stranger.http.get(`/api/servers/${id}/uptime`)).status).to.equal(404);
    expect((await owner.http.get(`/api/servers/${id}/uptime?days=91`)).status).to.equal(400);
    expect((await owner.http.get(`/api/servers/${id}/uptime?days=7`)).body.days).to.have.length(7);
  });

  it('records a suspension as an incident of cause `suspended`', async () => {
    const [{ instance_id: id }] = await tk.kernel.ds.query(`SELECT instance_id FROM uptime_state LIMIT 1`);
    const account = (await tk.kernel.ds.query(`SELECT a.id, a.email, a.role FROM account a JOIN instance i ON i.owner_id = a.id WHERE i.id = $1`, [id]))[0];
    clock.advance(5 * MINUTE);
    const suspendedAt = clock.now();
    await tk.kernel.hooks.onBillingSuspend.promise({ ...account, billingExempt: false }, 'suspended');
    const res = await owner.http.get(`/api/servers/${id}/uptime?days=1`);
    expect(res.body.incidents.at(-1)).to.deep.equal({ startedAt: suspendedAt.toISOString(), endedAt: null, cause: 'suspended' });
  });

  it('lets an operator read any server’s uptime', async () => {
    const [{ instance_id: id }] = await tk.kernel.ds.query(`SELECT instance_id FROM uptime_state LIMIT 1`);
    const admin = await tk.user({ role: 'admin' });
    expect((await admin.http.get(`/api/servers/${id}/uptime?days=1`)).status).to.equal(200);
  });
});

describe('hourSlices', () => {
  it('cuts a span at hour boundaries', () => {
    const start = Date.UTC(2026, 0, 1, 10, 45);
    expect(hourSlices(start, start + 90 * MINUTE).map((s) => [s.hour.toISOString(), s.ms])).to.deep.equal([
      ['2026-01-01T10:00:00.000Z', 15 * MINUTE], ['2026-01-01T11:00:00.000Z', HOUR], ['2026-01-01T12:00:00.000Z', 15 * MINUTE],
    ]);
  });
});
