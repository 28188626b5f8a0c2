import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { DependencyContainer } from 'tsyringe';
import { KernelInstanceAccess } from './access';
import { RateLimiter } from './auth/rate-limit';
import { OperationRegistry, PluginOperations } from './operations/plugin-operations';
import { BillingGate, CONSOLE_PROTOCOL_V1, HostingProvider, InstanceAgent, InstanceType, KernelQueue, Tokens } from '../api';
import type { AccountView, ActivityLog, AgentTokens, ApiRouter, QueueRef, LiveSessions, MaintenanceCalendar, Notifications, PortRef } from '../api';
import type { KernelServices } from './services';
import { billingStateOf, entitlementsOf } from './billing-state';
import { CLOSE } from './console/bridge';
import { CONSOLE_PATH, ConsoleGateway, type CloseOrder } from './console/gateway';
import type { HttpExtensions } from './plugin-host';
import type { MaintenanceSchedule } from './maintenance';
import type { KernelUpgradeTickets } from './upgrades/tickets';
import { IsNull } from 'typeorm';
import { Instance, Schedule, Session } from './entities';
import { KernelDirectoryToken, KernelInstanceDirectory } from './operations/directory';
import { InstanceService, PROVISION_JOB, TEARDOWN_JOB } from './operations/instances';
import { OperationLease } from './operations/lease';
import { KernelInstancePower } from './operations/power';
import { ProvisionWorker } from './operations/provision';
import { InstanceReadiness } from './operations/readiness';
import { ReadinessCache } from './operations/readiness-cache';
import { TeardownWorker } from './operations/teardown';
import { ReadinessWakeups } from './operations/wakeups';
import { OperationEventStreams } from './operations/event-streams';
import { agentEventRoutes } from './routes/agent-events';
import { operationEventRoutes } from './routes/operation-events';
import { backupRoutes } from './routes/backups';
import { consoleRoutes, consoleSocketDoc } from './routes/console';
import { fileRoutes } from './routes/files';
import { instanceRoutes } from './routes/instances';
import { serverActionRoutes } from './routes/server-actions';
import { Supervisor } from './supervision/supervisor';
import { BackupRotation } from './routes/backups';
import { scheduleRoutes } from './routes/schedules';
import { SCHEDULE_JOB, ScheduleRunner, type ScheduleJob } from './schedules/runner';
import { powerServer } from './routes/server-actions';
import { serverSettingsRoutes } from './routes/server-settings';
import { reinstallOperation } from './operations/reinstall';
import { AgentStatusCache } from './operations/status-cache';
import { fileOperationRoutes } from './routes/file-operations';
import { sharingRoutes } from './routes/sharing';
import { activityRoutes } from './routes/activity';
import { UptimeHistory } from './uptime/history';
import { uptimeRoutes } from './routes/uptime';
import { adminEventRoutes } from './routes/admin-events';
import { FleetEventStreams } from './operations/fleet-events';

export interface InstanceWiringContext extends KernelServices {
  notifications: Notifications;
  agentTokens: AgentTokens;
  /** An account's instances changed (created, retired, deleted): cached quotas must go everywhere. */
  accountChanged(accountId: string): Promise<void>;
  tickets: KernelUpgradeTickets;
  /** The account behind a live login session (Tokens.Sessions). */
  liveSession(sessionId: string, accountId: string): Promise<AccountView | undefined>;
  /** When an API key expires (null: never; undefined: revoked or unknown). */
  apiKeyExpiry(keyId: string): Promise<Date | null | undefined>;
  http: HttpExtensions;
  operations: OperationRegistry;
  /** Operator windows: placement avoids their nodes, the supervisor does not restart there. */
  maintenance: MaintenanceSchedule;
  routes: ApiRouter;
  activity: ActivityLog;
  scheduleQueue: QueueRef;
  /** Where customers sign in (links in emails). */
  publicUrl: string;
  container: DependencyContainer;
  /** Resolves plugin ports at use time, so a disabled plugin fails the request, not the boot. */
  ports: { required<T>(port: PortRef<T>): T; optional<T>(port: PortRef<T>): T | undefined; resolveAll<T>(port: PortRef<T>): T[] };
}

/** Everything about instances: operations and their workers, supervision, console, files, backups. */
export function wireInstances(k: InstanceWiringContext) {
  const { ds, redis, config, hooks, queues, logger, routes, ports, agentTokens } = k;
  const agent = () => ports.required(InstanceAgent);
  const billingState = (accountId: string) => billingStateOf(ds, ports.optional(BillingGate), accountId);

  const uptime = new UptimeHistory(ds, k.container.resolve(Tokens.Clock), () => k.container.resolve(Tokens.Maintenance));
  k.container.register(Tokens.Uptime, { useValue: uptime });
  const readiness = new InstanceReadiness(redis, config.redis.prefix, hooks, (instanceId) => provision.wake(instanceId), uptime);
  const directory = new KernelInstanceDirectory(ds, readiness);
  k.container.register(KernelDirectoryToken, { useValue: directory });
  // Each plugin host binds its own view (forPlugin); resolved from the kernel itself, no section is writable.
  const readOnly = directory.forPlugin(null);
  k.container.register(Tokens.Instances, { useValue: readOnly });
  const instances = new InstanceService(ds, config, hooks, queues, () => ports.resolveAll(InstanceType), logger, k.accountChanged, {
    state: billingState, entitlements: (account) => entitlementsOf(ds, ports.optional(BillingGate), account),
  });
  const access = new KernelInstanceAccess(ds, billingState);
  k.container.register(Tokens.Access, { useValue: access });
  const activity = k.activity;
  uptimeRoutes(routes, { access, history: uptime });
  instanceRoutes(routes, {
    ds, instances, probes: new ReadinessCache(config.status.readinessCacheMs), optional: (p) => ports.optional(p), billingState,
    types: ports.resolveAll(InstanceType), sections: k.http.statusSections,
  });

  const operationEvents = new OperationEventStreams(config.server.events, logger);
  operationEventRoutes(routes, { ds, streams: operationEvents });
  const fleetEvents = new FleetEventStreams(ds, config.server.events, logger);
  adminEventRoutes(routes, { streams: fleetEvents });

  const workerDeps = {
    ds, config, hooks, logger, readiness, agentTokens, agent, accountChanged: k.accountChanged, metrics: k.metrics,
    notifications: k.notifications, maintenance: k.maintenance, calendar: () => k.container.resolve<MaintenanceCalendar>(Tokens.Maintenance),
    hosting: () => ports.required(HostingProvider),
    lease: new OperationLease(ds, `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`, config.provisioning.leaseSeconds),
    wakeups: new ReadinessWakeups(queues, redis, config.redis.prefix, PROVISION_JOB, config.provisioning.readyTimeoutSeconds),
    // Agents post their events to the API, never to the portal (publicUrl).
    controlPlaneUrl: config.server.apiUrl || `http://${config.server.host}:${config.server.port}`,
  };
  const provision = new ProvisionWorker(workerDeps);
  const teardown = new TeardownWorker(workerDeps);
  k.container.register(Tokens.Operations, { useValue: new PluginOperations(ds, k.operations, queues, workerDeps, logger) });
  queues.define<{ operationId: string; resumed?: boolean }>(PROVISION_JOB, KernelQueue.provisioning, (d) => provision.run(d.operationId, d.resumed));
  queues.define<{ operationId: string }>(TEARDOWN_JOB, KernelQueue.provisioning, (d) => teardown.run(d.operationId));

  const supervisor = new Supervisor({
    ds, config, hooks, queues, readiness, agent, types: () => ports.resolveAll(InstanceType), notifications: k.notifications, billingState, logger,
    maintenance: () => k.container.resolve<MaintenanceCalendar>(Tokens.Maintenance), publicUrl: config.server.publicUrl,
  });
  agentEventRoutes(routes, { ds, tokens: agentTokens, directory, readiness, supervisor });
  const power = new KernelInstancePower(ds, agent, readiness);
  k.container.register(Tokens.Power, { useValue: power });
  const actionDeps = { ds, instances, agent, power, billingState, statusCache: new AgentStatusCache(config.status.readinessCacheMs) };
  serverActionRoutes(routes, actionDeps);

  const sessionExpiry = async (id: string) => (await ds.getRepository(Session).findOne({ select: { id: true, expiresAt: true }, where: { id } }))?.expiresAt;
  const gateway = new ConsoleGateway(config, readOnly, agent, billingState,
    (grant) => (grant.apiKeyId ? k.apiKeyExpiry(grant.apiKeyId) : sessionExpiry(grant.sessionId)), redis, logger, () => access, () => activity);
  k.container.register(Tokens.Sessions, {
    useValue: {
      account: (sessionId: string, accountId: string) => k.liveSession(sessionId, accountId),
      expiresAt: sessionExpiry,
      onEnded: (listener: (ended: CloseOrder) => void) => gateway.onOrder(listener),
    } satisfies LiveSessions,
  });
  k.http.upgrades.register('kernel', { path: CONSOLE_PATH }, (upgrade) => gateway.accept(upgrade), { protocols: [CONSOLE_PROTOCOL_V1] });
  consoleRoutes(routes, { tickets: k.tickets });
  consoleSocketDoc(routes);
  hooks.onTeardown.tapPromise('kernel-console', (instance) => gateway.order({ instanceId: instance.id, code: CLOSE.instanceDeleted, reason: 'server deleted' }));
  hooks.onBillingSuspend.tapPromise('kernel-console', async (account, state) => {
    if (state === 'suspended') await gateway.order({ accountId: account.id, code: CLOSE.suspended, reason: 'account suspended' });
  });
  hooks.onBillingSuspend.tapPromise('kernel-uptime', async (account, state) => {
    if (state !== 'suspended') return;
    const live = await ds.getRepository(Instance).find({ select: { id: true }, where: { ownerId: account.id, deletedAt: IsNull() } });
    for (const { id } of live) await uptime.record({ instanceId: id, ready: false, cause: 'suspended' });
  });

  const backupDeps = { ds, agent, optional: <T>(p: PortRef<T>) => ports.optional(p), defaultBackupsMax: config.management.defaultBackupsMax };
  backupRoutes(routes, backupDeps);
  const schedules = new ScheduleRunner({
    ds, queues, queue: k.scheduleQueue, agent, billingState, maintenance: () => k.container.resolve(Tokens.Maintenance), activity,
    power: (instance, action) => powerServer(actionDeps, instance, action), backups: new BackupRotation(backupDeps),
    maxTaskDelaySeconds: config.management.schedules.maxTaskDelaySeconds, consoleTimeoutMs: config.console.connectTimeoutMs, logger,
  });
  queues.define<ScheduleJob>(SCHEDULE_JOB, k.scheduleQueue, (data, job) => schedules.handle(data, job));
  scheduleRoutes(routes, { ds, runner: schedules, config, access });
  const setup = {
    ds, agent, types: () => ports.resolveAll(InstanceType), agentTokens, controlPlaneUrl: workerDeps.controlPlaneUrl, readiness, backups: new BackupRotation(backupDeps),
  };
  k.operations.define('kernel', 'reinstall', reinstallOperation(setup));
  serverSettingsRoutes(routes, {
    ...setup, optional: (p) => ports.optional(p), hosting: () => ports.required(HostingProvider), operations: k.container.resolve(Tokens.Operations),
  });
  hooks.onTeardown.tapPromise('kernel-schedules', async (instance) => {
    for (const s of await ds.getRepository(Schedule).find({ select: { id: true }, where: { instanceId: instance.id } })) await schedules.remove(s.id);
  });
  fileRoutes(routes, { agent, maxUploadBytes: config.files.maxUploadBytes });
  fileOperationRoutes(routes, { agent });
  sharingRoutes(routes, {
    ds, notifications: k.notifications, activity, closeConsoles: (order) => gateway.order(order), publicUrl: k.publicUrl,
    limiter: new RateLimiter(redis, config.redis.prefix), invitationLimit: config.management.invitations.rateLimit,
  });
  activityRoutes(routes, { ds });
  return { directory, readiness, instances, supervisor, console: gateway, operationEvents, schedules, fleetEvents, uptime };
}
