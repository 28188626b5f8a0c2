import type { DataSource } from 'typeorm';
import type { AccountView, ActivityActor, ActivityEntry, ActivityLog, InstanceView } from '../api';

/** The activity log in Postgres (table activity_event); `record` is called after the action succeeded. */
export class KernelActivityLog implements ActivityLog {
  constructor(private readonly ds: DataSource) {}

  async record(entry: ActivityEntry): Promise<void> {
    const accountId = entry.accountId !== undefined ? entry.accountId : entry.actor.type === 'user' || entry.actor.type === 'subuser' ? entry.actor.id : null;
    await this.ds.query(
      `INSERT INTO activity_event (instance_id, account_id, event, actor_type, actor_id, ip, properties) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [entry.instanceId, accountId, entry.event, entry.actor.type, entry.actor.id, entry.ip ?? null, JSON.stringify(entry.properties ?? {})],
    );
  }

  actorOf(account: AccountView, instance: Pick<InstanceView, 'ownerId'>): ActivityActor {
    if (account.credential) return { type: 'apiKey', id: account.credential.id };
    return { type: account.id === instance.ownerId ? 'user' : 'subuser', id: account.id };
  }
}
