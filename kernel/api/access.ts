import type { AccountView, InstanceView } from './domain';

/** What a subuser may be granted on a shared server (the owner holds them all). */
export const SERVER_PERMISSIONS = ['console', 'files.read', 'files.write', 'backups', 'power', 'settings', 'schedules', 'activity'] as const;
export type ServerPermission = typeof SERVER_PERMISSIONS[number];
/**
 * What a route needs of the caller on a server: a permission a subuser may hold, `view` (anyone the
 * server is shared with: its status, its crashes) or `owner` (delete, sharing, reinstall).
 */
export type ServerAccessLevel = ServerPermission | 'view' | 'owner';

/** What a personal API key may be scoped to; `admin` only on keys of admin accounts. */
export const API_KEY_SCOPES = ['servers.read', 'servers.write', 'files.read', 'files.write', 'console', 'backups', 'account.read', 'admin'] as const;
export type ApiKeyScope = typeof API_KEY_SCOPES[number];

/** The API key scope a server access level needs when the caller presents a key. */
export const SCOPE_FOR_ACCESS: Record<ServerAccessLevel, ApiKeyScope> = {
  view: 'servers.read', activity: 'servers.read', owner: 'servers.write', power: 'servers.write', settings: 'servers.write',
  schedules: 'servers.write', console: 'console', 'files.read': 'files.read', 'files.write': 'files.write', backups: 'backups',
};

/** How the caller of a request proved who they are, when not by a login session. */
export interface ApiKeyCredential {
  kind: 'apiKey';
  id: string;
  scopes: readonly ApiKeyScope[];
}

export interface AccessOptions {
  /**
   * The action changes the server: a suspended account's server answers 402 (`'backup'`: a new
   * backup, refused with 423 already at the final warning). The refusal is audited under `action`.
   */
  mutation?: boolean | 'backup';
  /** A stable name of the action for the audit log (`mods.install`, `runtime.upgrade` …). */
  action?: string;
}

/**
 * The one gate for every route that acts on a server, kernel or plugin: who may see it (404
 * otherwise, never 403, so ids cannot be probed), who may do this to it (403 when visible but not
 * permitted), and whether billing lets it change now.
 */
export interface InstanceAccess {
  require(account: AccountView, instanceId: string, permission: ServerAccessLevel, options?: AccessOptions): Promise<InstanceView>;
  /** How `account` holds the server: `owner`, `subuser` (with its permissions), or null when it is not shared with them. */
  relation(account: Pick<AccountView, 'id'>, instance: Pick<InstanceView, 'id' | 'ownerId'>): Promise<ServerRelation | null>;
}

export type ServerRelation = { kind: 'owner' } | { kind: 'subuser'; subuserId: string; permissions: readonly ServerPermission[] };

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
