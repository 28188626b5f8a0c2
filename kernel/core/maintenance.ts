import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { Announcements, MaintenanceCalendar, MaintenanceWindowView, Notifications } from '../api';
import type { KernelConfig } from './config';
import { hotQuery, returnedRows } from './database';
import { MaintenanceWindow } from './entities';

export const MAINTENANCE_NOTICES_JOB = 'maintenance.notices';

export interface WindowRequest {
  /** A node name, or null for the whole fleet. */
  node: string | null;
  startsAt: Date;
  endsAt: Date;
  message: string;
}

export const windowView = (w: MaintenanceWindow): MaintenanceWindowView =>
  ({ id: w.id, node: w.node, startsAt: w.startsAt, endsAt: w.endsAt, message: w.message });

/** What placement must avoid now: the fleet-wide window in force, and the nodes in a window of their own. */
export interface NodesInMaintenance {
  fleet: MaintenanceWindowView | null;
  nodes: string[];
  /** Every window in force, earliest start first (what activeFor would answer for any node at that instant). */
  windows: MaintenanceWindowView[];
}

/** What `activeFor(node)` answers, from the windows in force at the same instant. */
export const activeAmong = (windows: MaintenanceWindowView[], node: string): MaintenanceWindowView | null =>
  windows.find((w) => w.node === null || w.node === node) ?? null;

interface Affected {
  ownerId: string;
  email: string;
  servers: Array<{ id: string; name: string }>;
}

/**
 * Operator maintenance windows in Postgres, the kernel's MaintenanceCalendar. Customers whose
 * servers are on an affected node hear of a window `noticeHours` before it (an announcement on
 * each server and one email per account), and again when it begins; each notice goes out once,
 * claimed by the statement that marks it sent.
 */
export class MaintenanceSchedule implements MaintenanceCalendar {
  constructor(
    private readonly ds: DataSource,
    private readonly notifications: Notifications,
    private readonly announcements: () => Announcements | undefined,
    private readonly policy: KernelConfig['maintenance'],
    private readonly logger: Logger,
  ) {}

  async activeFor(node: string | null, at: Date = new Date()): Promise<MaintenanceWindowView | null> {
    const w = await this.ds.getRepository(MaintenanceWindow).createQueryBuilder('w')
      .where('w.starts_at <= :at AND w.ends_at > :at', { at })
      .andWhere(node === null ? 'w.node IS NULL' : '(w.node IS NULL OR w.node = :node)', { node })
      .orderBy('w.starts_at', 'ASC').getOne();
    return w ? windowView(w) : null;
  }

  /** One prepared statement: every create's placement asks it. */
  async inMaintenance(at: Date = new Date()): Promise<NodesInMaintenance> {
    const windows = (await hotQuery<{ id: string; node: string | null; starts_at: Date; ends_at: Date; message: string }>(this.ds, 'zpack_maintenance_now',
      `SELECT id, node, starts_at, ends_at, message FROM maintenance_window WHERE starts_at <= $1 AND ends_at > $1 ORDER BY starts_at ASC`, [at]))
      .map((w): MaintenanceWindowView => ({ id: w.id, node: w.node, startsAt: w.starts_at, endsAt: w.ends_at, message: w.message }));
    const fleet = windows.find((w) => w.node === null) ?? null;
    return { fleet, nodes: [...new Set(windows.flatMap((w) => (w.node ? [w.node] : [])))], windows };
  }

  async schedule(request: WindowRequest, actorId: string | null): Promise<MaintenanceWindow> {
    return this.ds.getRepository(MaintenanceWindow).save({ ...request, createdBy: actorId });
  }

  /** Sends the notices that are due (the repeatable job, and right after an operator schedules a window). */
  async notices(now: Date = new Date()): Promise<{ scheduled: number; starting: number }> {
    const noticeFrom = new Date(now.getTime() + this.policy.noticeHours * 3600_000);
    let scheduled = 0;
    let starting = 0;
    for (const w of returnedRows<{ id: string; started: boolean }>(await this.ds.query(
      `UPDATE maintenance_window SET scheduled_notice_at = $1, updated_at = now()
        WHERE scheduled_notice_at IS NULL AND starts_at <= $2 AND ends_at > $1
        RETURNING id, starts_at <= $1 AS started`, [now, noticeFrom]))) {
      // A window already under way gets only the "has begun" notice.
      if (!w.started) scheduled += await this.tell(w.id, 'maintenance_scheduled');
    }
    for (const w of returnedRows<{ id: string }>(await this.ds.query(
      `UPDATE maintenance_window SET starting_notice_at = $1, updated_at = now()
        WHERE starting_notice_at IS NULL AND starts_at <= $1 AND ends_at > $1 RETURNING id`, [now]))) {
      starting += await this.tell(w.id, 'maintenance_starting');
    }
    return { scheduled, starting };
  }

  /** The affected accounts: an announcement per server, one email per account. */
  private async tell(windowId: string, template: 'maintenance_scheduled' | 'maintenance_starting'): Promise<number> {
    const w = await this.ds.getRepository(MaintenanceWindow).findOneByOrFail({ id: windowId });
    const affected = await this.affected(w.node);
    const board = this.announcements();
    for (const account of affected) {
      const names = account.servers.map((s) => `"${s.name}"`).join(', ');
      if (board) {
        for (const s of account.servers) {
          await board.post({
            key: `maintenance:${w.id}:${s.id}`, audience: { scope: 'server', serverId: s.id, accountId: account.ownerId },
            severity: template === 'maintenance_starting' ? 'warning' : 'info',
            title: template === 'maintenance_starting' ? 'Maintenance under way' : 'Planned maintenance',
            message: `${w.message} (${w.startsAt.toISOString()} – ${w.endsAt.toISOString()})`, expiresAt: w.endsAt,
          }).catch((err) => this.logger.warn({ err, windowId }, 'maintenance announcement failed'));
        }
      }
      await this.notifications.sendToOwner({
        to: account.email, template,
        data: { windowId: w.id, startsAt: w.startsAt.toISOString(), endsAt: w.endsAt.toISOString(), message: w.message,
          affected: `your server${account.servers.length > 1 ? 's' : ''} ${names}`, serverIds: account.servers.map((s) => s.id) },
      });
    }
    this.logger.info({ windowId, template, accounts: affected.length }, 'maintenance notice sent');
    return affected.length;
  }

  private async affected(node: string | null): Promise<Affected[]> {
    const rows: Array<{ owner_id: string; email: string; id: string; name: string }> = await this.ds.query(
      `SELECT i.owner_id, a.email, i.id, i.name FROM instance i JOIN account a ON a.id = i.owner_id
        WHERE i.deleted_at IS NULL AND ($1::text IS NULL OR i.node = $1) ORDER BY i.owner_id, i.created_at`, [node]);
    const byOwner = new Map<string, Affected>();
    for (const r of rows) {
      const entry = byOwner.get(r.owner_id) ?? { ownerId: r.owner_id, email: r.email, servers: [] };
      entry.servers.push({ id: r.id, name: r.name });
      byOwner.set(r.owner_id, entry);
    }
    return [...byOwner.values()];
  }
}
