import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { DependencyContainer } from 'tsyringe';
import type { DataSource } from 'typeorm';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { KernelInstanceAccess } from './access';
import { OperationRegistry, PluginOperations } from './operations/plugin-operations';
import { BillingGate, CONSOLE_PROTOCOL_V1, HostingProvider, InstanceAgent, InstanceType, KernelQueue, Tokens } from '../api';
import type { AgentTokens, ApiRouter, KernelHooks, Notifications, PortRef } from '../api';
import type { KernelConfig } from './config';
import type { KernelQueues } from './queues';
import { billingStateOf } from './billing-state';
import { CLOSE } from './console/bridge';
import { CONSOLE_PATH, ConsoleGateway } from './console/gateway';
import type { HttpExtensions } from './plugin-host';
import type { KernelUpgradeTickets } from './upgrades/tickets';
import { IsNull } from 'typeorm';
import { Instance, Session } from './entities';
import { KernelDirectoryToken, KernelInstanceDirectory } from './operations/directory';
import { InstanceService, PROVISION_JOB, TEARDOWN_JOB } from './operations/instances';
import { OperationLease } from './operations/lease';
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
import { UptimeHistory } from './uptime/history';
import { uptimeRoutes } from './routes/uptime';
import { adminEventRoutes } from './routes/admin-events';
import { FleetEventStreams } from './operations/fleet-events';

export interface InstanceWiringContext {
  ds: DataSource;
  redis: Redis;
  config: KernelConfig;
  hooks: KernelHooks;
  queues: KernelQueues;
  logger: Logger;
  notifications: Notifications;
  agentTokens: AgentTokens;
  /** An account's instances changed (created, retired, deleted): cached quotas must go everywhere. */
  accountChanged(accountId: string): Promise<void>;
  tickets: KernelUpgradeTickets;
  http: HttpExtensions;
  operations: OperationRegistry;
  routes: ApiRouter;
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
  const instances = new InstanceService(ds, config, hooks, queues, () => ports.resolveAll(InstanceType), logger, k.accountChanged);
  const access = new KernelInstanceAccess(ds, instances, billingState);
  k.container.register(Tokens.Access, { useValue: access });
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
    ds, config, hooks, logger, readiness, agentTokens, agent, accountChanged: k.accountChanged,
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
  });
  agentEventRoutes(routes, { ds, tokens: agentTokens, directory, readiness, supervisor });
  serverActionRoutes(routes, { ds, instances, readiness, agent, billingState });

  const sessionExpiry = async (id: string) => (await ds.getRepository(Session).findOne({ select: { id: true, expiresAt: true }, where: { id } }))?.expiresAt;
  const gateway = new ConsoleGateway(config, readOnly, agent, billingState, sessionExpiry, redis, logger);
  k.http.upgrades.register('kernel', { path: CONSOLE_PATH }, (upgrade) => gateway.accept(upgrade), { protocols: [CONSOLE_PROTOCOL_V1] });
  consoleRoutes(routes, { instances, tickets: k.tickets, billingState });
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

  backupRoutes(routes, { ds, instances, agent, billingState });
  fileRoutes(routes, { ds, instances, agent, billingState, maxUploadBytes: config.files.maxUploadBytes });
  return { directory, readiness, instances, supervisor, console: gateway, operationEvents, fleetEvents, uptime };
}
