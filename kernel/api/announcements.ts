import { PortId } from './ports';

export type AnnouncementSeverity = 'info' | 'warning' | 'critical';

/**
 * Who sees an announcement: everyone, the holder of one account (billing), or whoever holds one
 * server (maintenance on its node).
 */
export type AnnouncementAudience =
  | { scope: 'global' }
  | { scope: 'account'; accountId: string }
  | { scope: 'server'; serverId: string; accountId: string };

export interface AnnouncementDraft {
  /**
   * The poster's own stable name for it (`billing:<accountId>`, `maintenance:<windowId>:<serverId>`):
   * posting the same key again updates that announcement instead of adding one, and `expire(key)` ends it.
   */
  key: string;
  audience: AnnouncementAudience;
  severity: AnnouncementSeverity;
  title: string;
  message: string;
  /** Shown from (default: now). */
  startsAt?: Date;
  /** Hidden after (default: never). */
  expiresAt?: Date | null;
}

/**
 * The announcement board, for other plugins and the kernel (billing, maintenance): provided by
 * the plugin that serves GET /api/announcements. Consume it as optional: without that plugin
 * nothing shows, and nothing else breaks.
 */
export abstract class Announcements {
  static readonly port = new PortId<Announcements>('Announcements');
  /** Creates or updates the announcement with this key; returns its id. */
  abstract post(draft: AnnouncementDraft): Promise<{ id: string }>;
  /** Ends the announcement with this key now (nothing when there is none). */
  abstract expire(key: string): Promise<void>;
}
