import type { DataSource, EntityManager } from 'typeorm';
import type { Clock, DowntimeCause, MaintenanceCalendar, ReadinessSample, UptimeRecorder } from '../../api';
import { hotQuery, returnedRows } from '../database';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface UptimeDay {
  /** The UTC date, YYYY-MM-DD. */
  date: string;
  /** Ready time over observed time that day; null when nothing observed the server. */
  uptimePercent: number | null;
}
export interface UptimeIncident {
  startedAt: Date;
  /** Null while it lasts. */
  endedAt: Date | null;
  cause: DowntimeCause;
}
export interface UptimeReport {
  days: UptimeDay[];
  incidents: UptimeIncident[];
}

/** [from, to) cut at hour boundaries: each piece's hour start and length. */
export function hourSlices(from: number, to: number): Array<{ hour: Date; ms: number }> {
  const slices: Array<{ hour: Date; ms: number }> = [];
  for (let t = from; t < to;) {
    const hour = Math.floor(t / HOUR_MS) * HOUR_MS;
    const end = Math.min(to, hour + HOUR_MS);
    slices.push({ hour: new Date(hour), ms: end - t });
    t = end;
  }
  return slices;
}

/**
 * The one writer of uptime history. A sample closes the span since the server's previous one
 * (credited to the previous state, hour by hour) and may open or close an incident; the span
 * from the last sample to now is counted when read, as the last state.
 */
export class UptimeHistory implements UptimeRecorder {
  constructor(
    private readonly ds: DataSource,
    private readonly clock: Clock,
    private readonly maintenance: () => MaintenanceCalendar,
  ) {}

  async record(sample: ReadinessSample): Promise<void> {
    const at = sample.at ?? this.clock.now();
    const cause = sample.cause ?? 'unready';
    // A server's first sample (every create's readiness) is one statement: its state row and, when
    // not ready, its incident. Any later one conflicts here and is credited under the row's lock.
    const [{ first }] = await hotQuery<{ first: number }>(this.ds, 'zpack_uptime_first',
      `WITH s AS (INSERT INTO uptime_state (instance_id, at, ready) VALUES ($1, $2::timestamptz, $3::boolean)
                  ON CONFLICT (instance_id) DO NOTHING RETURNING instance_id),
            i AS (INSERT INTO uptime_incident (instance_id, started_at, cause) SELECT instance_id, $2::timestamptz, $4::text FROM s WHERE NOT $3::boolean
                  ON CONFLICT (instance_id) WHERE ended_at IS NULL DO NOTHING)
       SELECT count(*)::int AS first FROM s`,
      [sample.instanceId, at, sample.ready, cause]);
    if (first) return;
    await this.ds.transaction(async (m) => {
      const [prior] = returnedRows<{ at: Date; ready: boolean }>(await m.query(
        `SELECT at, ready FROM uptime_state WHERE instance_id = $1 FOR UPDATE`, [sample.instanceId]));
      // Rows are never deleted; should one be, this sample is its first again.
      if (!prior) {
        await m.query(`INSERT INTO uptime_state (instance_id, at, ready) VALUES ($1, $2, $3) ON CONFLICT (instance_id) DO NOTHING`, [sample.instanceId, at, sample.ready]);
        if (!sample.ready) await this.openIncident(m, sample.instanceId, at, cause);
        return;
      }
      if (at.getTime() < prior.at.getTime()) return;
      await this.credit(m, sample.instanceId, prior.at.getTime(), at.getTime(), prior.ready);
      await m.query(`UPDATE uptime_state SET at = $2, ready = $3 WHERE instance_id = $1`, [sample.instanceId, at, sample.ready]);
      if (prior.ready && !sample.ready) await this.openIncident(m, sample.instanceId, at, cause);
      if (!prior.ready && sample.ready) {
        await m.query(`UPDATE uptime_incident SET ended_at = $2 WHERE instance_id = $1 AND ended_at IS NULL`, [sample.instanceId, at]);
      }
    });
  }

  /** Per UTC day over the last `days` days (today included), and the incidents that touch them. */
  async report(instance: { id: string; node: string | null; createdAt: Date }, days: number): Promise<UptimeReport> {
    const now = this.clock.now().getTime();
    const from = Math.floor(now / DAY_MS) * DAY_MS - (days - 1) * DAY_MS;
    const perDay = new Map<number, { ready: number; observed: number }>();
    const add = (hour: number, ready: number, observed: number) => {
      const day = Math.floor(hour / DAY_MS) * DAY_MS;
      const d = perDay.get(day) ?? { ready: 0, observed: 0 };
      d.ready += ready;
      d.observed += observed;
      perDay.set(day, d);
    };
    const hours = returnedRows<{ hour: Date; ready_ms: string; observed_ms: string }>(await this.ds.query(
      `SELECT hour, ready_ms, observed_ms FROM uptime_hour WHERE instance_id = $1 AND hour >= $2`, [instance.id, new Date(from)]));
    for (const h of hours) add(h.hour.getTime(), Number(h.ready_ms), Number(h.observed_ms));
    const [state] = returnedRows<{ at: Date; ready: boolean }>(await this.ds.query(`SELECT at, ready FROM uptime_state WHERE instance_id = $1`, [instance.id]));
    if (state) {
      for (const s of hourSlices(Math.max(state.at.getTime(), from), now)) add(s.hour.getTime(), state.ready ? s.ms : 0, s.ms);
    }
    const dayList: UptimeDay[] = [];
    for (let day = from; day <= now; day += DAY_MS) {
      const d = perDay.get(day);
      dayList.push({
        date: new Date(day).toISOString().slice(0, 10),
        uptimePercent: d && d.observed > 0 ? Math.round((d.ready / d.observed) * 10_000) / 100 : null,
      });
    }
    return { days: dayList, incidents: await this.incidents(instance, new Date(from), new Date(now)) };
  }

  /** Drops hours and ended incidents older than `days`. */
  async prune(days: number): Promise<number> {
    const hours = returnedRows(await this.ds.query(`DELETE FROM uptime_hour WHERE hour < now() - $1 * interval '1 day' RETURNING hour`, [days]));
    const incidents = returnedRows(await this.ds.query(`DELETE FROM uptime_incident WHERE ended_at < now() - $1 * interval '1 day' RETURNING id`, [days]));
    return hours.length + incidents.length;
  }

  private async incidents(instance: { id: string; node: string | null; createdAt: Date }, from: Date, now: Date): Promise<UptimeIncident[]> {
    const rows = returnedRows<{ started_at: Date; ended_at: Date | null; cause: DowntimeCause }>(await this.ds.query(
      `SELECT started_at, ended_at, cause FROM uptime_incident
        WHERE instance_id = $1 AND started_at <= $3 AND (ended_at IS NULL OR ended_at >= $2) ORDER BY started_at`, [instance.id, from, now]));
    const recorded: UptimeIncident[] = rows.map((r) => ({ startedAt: r.started_at, endedAt: r.ended_at, cause: r.cause }));
    const windows = (await this.maintenance().between?.(instance.node, from, now)) ?? [];
    const planned: UptimeIncident[] = windows
      .filter((w) => w.endsAt.getTime() > instance.createdAt.getTime() && w.startsAt.getTime() <= now.getTime())
      .map((w) => ({ startedAt: w.startsAt, endedAt: w.endsAt.getTime() > now.getTime() ? null : w.endsAt, cause: 'maintenance' as const }));
    return [...recorded, ...planned].sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
  }

  private async openIncident(m: EntityManager, instanceId: string, at: Date, cause: DowntimeCause): Promise<void> {
    await m.query(`INSERT INTO uptime_incident (instance_id, started_at, cause) VALUES ($1, $2, $3)
      ON CONFLICT (instance_id) WHERE ended_at IS NULL DO NOTHING`, [instanceId, at, cause]);
  }

  private async credit(m: EntityManager, instanceId: string, from: number, to: number, ready: boolean): Promise<void> {
    const slices = hourSlices(from, to);
    if (!slices.length) return;
    await m.query(`INSERT INTO uptime_hour (instance_id, hour, ready_ms, observed_ms)
      SELECT $1, h, CASE WHEN $4 THEN ms ELSE 0 END, ms FROM unnest($2::timestamptz[], $3::bigint[]) AS s(h, ms)
      ON CONFLICT (instance_id, hour) DO UPDATE SET ready_ms = uptime_hour.ready_ms + EXCLUDED.ready_ms,
        observed_ms = uptime_hour.observed_ms + EXCLUDED.observed_ms`,
    [instanceId, slices.map((s) => s.hour), slices.map((s) => s.ms), ready]);
  }
}
