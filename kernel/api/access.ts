import type { AccountView, InstanceView } from './domain';

/** What a subuser may be granted on a shared server (the owner holds them all). */
export const SERVER_PERMISSIONS = ['console', 'files.read', 'files.write', 'backups', 'power', 'settings', 'schedules', 'activity'] as const;
export type ServerPermission = typeof SERVER_PERMISSIONS[number];

export interface AccessOptions {
  /**
   * The action changes the server: a suspended account's server answers 402 (`'backup'`: a new
   * backup, refused with 423 already at the final warning). The refusal is audited under `action`.
   */
  mutation?: boolean | 'backup';
  /** A stable name of the action for the audit log (`mods.install`, `codeserver.restart` …). */
  action?: string;
}

/**
 * The one gate for every route that acts on a server, kernel or plugin: who may see it (404
 * otherwise, never 403, so ids cannot be probed), who may do this to it (403 when visible but not
 * permitted), and whether billing lets it change now.
 */
export interface InstanceAccess {
  require(account: AccountView, instanceId: string, permission: ServerPermission, options?: AccessOptions): Promise<InstanceView>;
}

/** A scheduled operator window on one node or the whole fleet. */
export interface MaintenanceWindowView {
  id: string;
  /** A node name, or null for the whole fleet. */
  node: string | null;
  startsAt: Date;
  endsAt: Date;
  message: string;
}

/**
 * Operator maintenance: while a window holds a node, nothing places new servers there and the
 * supervisors (crash restarts, controller repairs, schedules) record instead of acting.
 */
export interface MaintenanceCalendar {
  /** The window in force at `at` (now by default) for `node`; a fleet-wide window counts for every node. */
  activeFor(node: string | null, at?: Date): Promise<MaintenanceWindowView | null>;
  /** The windows for `node` (fleet-wide ones included) overlapping [from, to), oldest first: uptime history shows them as incidents. */
  between?(node: string | null, from: Date, to: Date): Promise<MaintenanceWindowView[]>;
}
