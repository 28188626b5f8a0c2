import type { DataSource } from 'typeorm';
import type { AccountView, ActivityActor, ActivityEntry, ActivityLog, InstanceView } from '../api';

/** Rows written by one statement at most. */
const MAX_BATCH = 500;

/**
 * One statement for a whole batch; `clock_timestamp()` per row, in the order they were recorded, so
 * commands typed in quick succession list in the order they were typed.
 */
const INSERT_BATCH = `INSERT INTO activity_event (instance_id, account_id, event, actor_type, actor_id, ip, properties, created_at)
  SELECT u.instance_id, u.account_id, u.event, u.actor_type, u.actor_id, u.ip, u.properties, clock_timestamp()
    FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[])
      WITH ORDINALITY AS u(instance_id, account_id, event, actor_type, actor_id, ip, properties, n)
   ORDER BY u.n`;

interface Pending {
  entry: ActivityEntry;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The activity log in Postgres (table activity_event); `record` is called after the action succeeded
 * and resolves once the entry is stored. Entries recorded while a write is under way wait for it and
 * leave together in the next one (group commit): a busy console records each command typed, and a
 * statement per command cost the database more than the console itself.
 */
export class KernelActivityLog implements ActivityLog {
  private queue: Pending[] = [];
  private draining?: Promise<void>;

  constructor(private readonly ds: DataSource) {}

  record(entry: ActivityEntry): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      // After this turn's I/O: what else is recorded in it joins the first statement.
      this.draining ??= new Promise<void>((done) => setImmediate(done)).then(() => this.drain());
    });
  }

  /** Resolves once every entry recorded so far is written (or has failed). */
  async flushed(): Promise<void> {
    while (this.draining) await this.draining;
  }

  actorOf(account: AccountView, instance: Pick<InstanceView, 'ownerId'>): ActivityActor {
    if (account.credential) return { type: 'apiKey', id: account.credential.id };
    return { type: account.id === instance.ownerId ? 'user' : 'subuser', id: account.id };
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          await this.ds.query(INSERT_BATCH, columnsOf(batch.map((p) => p.entry)));
          for (const p of batch) p.resolve();
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.draining = undefined;
    }
  }
}

function columnsOf(entries: ActivityEntry[]): unknown[][] {
  const columns: unknown[][] = [[], [], [], [], [], [], []];
  for (const e of entries) {
    const accountId = e.accountId !== undefined ? e.accountId : e.actor.type === 'user' || e.actor.type === 'subuser' ? e.actor.id : null;
    const row = [e.instanceId, accountId, e.event, e.actor.type, e.actor.id, e.ip ?? null, JSON.stringify(e.properties ?? {})];
    for (let i = 0; i < row.length; i++) columns[i].push(row[i]);
  }
  return columns;
}
