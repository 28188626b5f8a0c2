import type { DataSource } from 'typeorm';
import { Announcements } from '../../kernel/api';
import type { AnnouncementDraft, Clock } from '../../kernel/api';
import { Announcement } from './entities/announcement';
import { cleanLine, cleanText } from './hygiene';

/** The Announcements port: what the kernel (maintenance) and other plugins (billing) post, by key. */
export class AnnouncementBoard extends Announcements {
  constructor(private readonly ds: () => DataSource, private readonly clock: () => Clock) {
    super();
  }

  async post(draft: AnnouncementDraft): Promise<{ id: string }> {
    const a = draft.audience;
    const values = {
      scope: a.scope,
      accountId: a.scope === 'global' ? null : a.accountId,
      serverId: a.scope === 'server' ? a.serverId : null,
      severity: draft.severity,
      title: cleanLine(draft.title),
      message: cleanText(draft.message),
      startsAt: draft.startsAt ?? this.clock().now(),
      expiresAt: draft.expiresAt ?? null,
    };
    const [row]: Array<{ id: string }> = await this.ds().query(
      `INSERT INTO support_announcement (key, scope, account_id, server_id, severity, title, message, starts_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (key) DO UPDATE SET scope = EXCLUDED.scope, account_id = EXCLUDED.account_id, server_id = EXCLUDED.server_id,
         severity = EXCLUDED.severity, title = EXCLUDED.title, message = EXCLUDED.message, starts_at = EXCLUDED.starts_at,
         expires_at = EXCLUDED.expires_at, updated_at = now()
       RETURNING id`,
      [draft.key, values.scope, values.accountId, values.serverId, values.severity, values.title, values.message, values.startsAt, values.expiresAt]);
    return { id: row.id };
  }

  async expire(key: string): Promise<void> {
    await this.ds().getRepository(Announcement).createQueryBuilder().update()
      .set({ expiresAt: this.clock().now() })
      .where('key = :key AND (expires_at IS NULL OR expires_at > :now)', { key, now: this.clock().now() }).execute();
  }
}
