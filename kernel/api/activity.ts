import type { AccountView, InstanceView } from './domain';

/** Who did it: a user on their own server, a subuser, an API key, a schedule, or zpack itself. */
export type ActivityActorType = 'user' | 'subuser' | 'apiKey' | 'schedule' | 'system';
export interface ActivityActor {
  type: ActivityActorType;
  /** The account, API key or schedule id; null for the system. */
  id: string | null;
}

export interface ActivityEntry {
  /** The server acted on; null for an account-level action (an API key made). */
  instanceId: string | null;
  /** A stable dotted name: `files.write`, `power.start`, `console.command`, `subuser.create` … */
  event: string;
  actor: ActivityActor;
  /** The account on whose behalf (the person behind a key; null for schedules and the system). */
  accountId?: string | null;
  ip?: string | null;
  /** What the event names (paths, the command line, a backup id); never file contents or console output. */
  properties?: Record<string, unknown>;
}

/**
 * The activity log customers read (GET /api/servers/:id/activity, GET /api/me/activity). Kernel
 * routes record through it; plugins record their own actions on a server the same way.
 */
export interface ActivityLog {
  record(entry: ActivityEntry): Promise<void>;
  /** The actor a request's caller is on `instance` (user, subuser or API key). */
  actorOf(account: AccountView, instance: Pick<InstanceView, 'ownerId'>): ActivityActor;
}
