import type { DataSource } from 'typeorm';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { KernelHooks } from './hooks';
import type { UpgradeTickets } from './upgrades';
import type { AgentTokens, Clock, InstanceDirectory, InstancePower, JobQueues, NotificationTemplates, Notifications } from './services';
import type { Pager } from './paging';
import type { SimulatorDirectory } from './simulator-state';
import type { InstanceAccess, MaintenanceCalendar } from './access';
import type { Operations } from './operations';
import type { LiveSessions } from './sessions';
import type { ActivityLog } from './activity';
import type { UptimeRecorder } from './uptime';

/** A typed DI token: a symbol that remembers the type it resolves to. */
export type Token<T> = symbol & { readonly __resolves?: T };
const token = <T>(id: string): Token<T> => Symbol.for(`zpack.${id}`) as Token<T>;

/** Services every plugin may resolve. Ports (HostingProvider …) are their own tokens. */
export const Tokens = {
  Logger: token<Logger>('core.logger'),
  DataSource: token<DataSource>('core.database'),
  Redis: token<Redis>('core.redis'),
  /** `redis.prefix`: a plugin's own keys start with `<prefix>:<plugin>:`, so installations sharing a Redis never meet. */
  RedisPrefix: token<string>('core.redis-prefix'),
  Hooks: token<KernelHooks>('core.hooks'),
  Queues: token<JobQueues>('core.queues'),
  Notifications: token<Notifications>('core.notifications'),
  /** The templates the outbox renders; plugins define theirs in `start`. */
  NotificationTemplates: token<NotificationTemplates>('core.notification-templates'),
  /** Keyset paging of a query builder, as every list of the API pages. */
  Pager: token<Pager>('core.pager'),
  Clock: token<Clock>('core.clock'),
  AgentTokens: token<AgentTokens>('core.agent-tokens'),
  Instances: token<InstanceDirectory>('core.instances'),
  Metrics: token<Registry>('core.metrics'),
  /** The permission, ownership and billing gate of every route acting on a server. */
  Access: token<InstanceAccess>('core.access'),
  /** Starts and stops a server as its power button does (see InstancePower). */
  Power: token<InstancePower>('core.power'),
  /** The customer-visible activity log of servers and accounts. */
  Activity: token<ActivityLog>('core.activity'),
  /** Operator maintenance windows. */
  Maintenance: token<MaintenanceCalendar>('core.maintenance'),
  /** Readiness samples for the uptime history (the controller pass feeds it). */
  Uptime: token<UptimeRecorder>('core.uptime'),
  /** Starts plugin-defined operations on a server. */
  Operations: token<Operations>('core.operations'),
  /** Login sessions and the ends of authority (revoked, suspended, deleted) long-lived connections act on. */
  Sessions: token<LiveSessions>('core.sessions'),
  /** Single-use tickets that authenticate a WebSocket upgrade (see UpgradeRequest.redeemTicket). */
  UpgradeTickets: token<UpgradeTickets>('core.upgrade-tickets'),
  /** Where loopback simulators keep their state and listen (simulate mode). */
  Simulators: token<SimulatorDirectory>('core.simulators'),
  /** The validated options of the plugin doing the resolving. */
  PluginConfig: token<unknown>('plugin.config'),
} as const;
