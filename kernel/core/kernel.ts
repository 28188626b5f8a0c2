import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import type { DataSource } from 'typeorm';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { API_SIMULATOR_NAME, Announcements, BootError, KernelQueue, Notifier, Tokens, UnavailableError, portKey, portName } from '../api';
import type { Clock, KernelHooks, PluginDefinition, PortRef, QueueRef } from '../api';
import type { KernelConfig } from './config';
import { dropSchema, openDatabase, runMigrations } from './database';
import { Setting } from './entities';
import { createHookBus } from './hook-bus';
import { createApp } from './http/app';
import { KernelRouter } from './http/router';
import { createLogger } from './logger';
import { KernelMetrics } from './metrics';
import { NotificationOutbox, SWEEP_JOB } from './notifications';
import { TemplateRegistry } from './notification-templates';
import { MAINTENANCE_NOTICES_JOB, MaintenanceSchedule } from './maintenance';
import { notificationRoutes } from './routes/notifications';
import { maintenanceRoutes } from './routes/maintenance';
import { pageRows } from './http/paging';
import { PluginHost, isBound, type HttpExtensions, type PluginContributions, type ProcessExtensions } from './plugin-host';
import { modulePluginSource, resolvePlugins } from './plugin-loader';
import { KernelQueues } from './queues';
import { connectRedis } from './redis';
import { RoleRegistry, requireProvisioningPorts, workOf, type RolePlan } from './roles';
import { CommandRegistry } from './commands';
import { HealthChecks } from './health-checks';
import { LeaderLoops } from './loops/leader-loops';
import { AuthService } from './auth/auth-service';
import { RateLimiter } from './auth/rate-limit';
import { AccessTokens } from './auth/tokens';
import { AccountCache } from './auth/account-cache';
import { accountRoutes } from './routes/accounts';
import { authRoutes } from './routes/auth';
import { healthRoutes } from './routes/health';
import { listenForMetrics, metricsRoutes } from './routes/metrics';
import { registerQueueMetrics } from './queue-metrics';
import { wireInstances } from './instance-wiring';
import { KernelActivityLog } from './activity';
import { ApiKeys } from './auth/api-keys';
import { apiKeyRoutes } from './routes/api-keys';
import { OperationRegistry } from './operations/plugin-operations';
import { Controller } from './controller';
import type { ConsoleGateway } from './console/gateway';
import type { OperationEventStreams } from './operations/event-streams';
import type { FleetEventStreams } from './operations/fleet-events';
import type { KernelInstanceDirectory } from './operations/directory';
import type { InstanceReadiness } from './operations/readiness';
import type { InstanceService } from './operations/instances';
import type { Supervisor } from './supervision/supervisor';
import type { ScheduleRunner } from './schedules/runner';
import type { UptimeHistory } from './uptime/history';
import { DerivedAgentTokens } from './agent-tokens';
import { RETENTION_JOB, RetentionPolicy } from './retention';
import { HostRoutes } from './http/host-routes';
import { StatusSections } from './status-sections';
import { UpgradeDispatcher } from './upgrades/dispatcher';
import { rawRoutesFirst } from './http/raw-routes';
import { KernelUpgradeTickets } from './upgrades/tickets';
import { KernelSimulators, SIMULATORS_ROLE } from './simulators';

export interface KernelOptions {
  config: KernelConfig;
  /** Folder holding dist/plugins (for config-enabled plugins that are not handed in). */
  distRoot: string;
  /** Plugin definitions offered directly (tests); config still decides which are enabled. */
  plugins?: PluginDefinition[];
  /** Replace ports or services after plugins registered (tests swap in fakes). */
  overrides?: Array<{ token: PortRef<any>; value: unknown }>;
  logger?: Logger;
  /** Skip process-wide default metrics (several kernels in one process). */
  processMetrics?: boolean;
}

/** Housekeeping runs with repairs, on every role that works that queue. */
const RETENTION_QUEUE = KernelQueue.repair;

const systemClock: Clock = { now: () => new Date() };

/**
 * One kernel = one DI container, one database schema, one Redis prefix. Several can live in a
 * process (tests); none shares state with another.
 */
export class Kernel {
  readonly container: DependencyContainer = rootContainer.createChildContainer();
  readonly logger: Logger;
  readonly metrics: KernelMetrics;
  readonly hooks: KernelHooks;
  readonly router: KernelRouter;
  /** WebSocket upgrades, host routes and status sections, declared by plugins and the kernel. */
  readonly http: HttpExtensions;
  private tickets?: KernelUpgradeTickets;
  ds!: DataSource;
  redis!: Redis;
  readonly queues: KernelQueues;
  auth!: AuthService;
  instances!: InstanceService;
  directory!: KernelInstanceDirectory;
  readiness!: InstanceReadiness;
  uptime!: UptimeHistory;
  supervisor!: Supervisor;
  outbox!: NotificationOutbox;
  maintenance!: MaintenanceSchedule;
  controller!: Controller;
  private cache?: AccountCache;
  console!: ConsoleGateway;
  schedules!: ScheduleRunner;
  operationEvents?: OperationEventStreams;
  fleetEvents?: FleetEventStreams;
  private sweeper?: NodeJS.Timeout;
  private hosts: PluginHost[] = [];
  private server?: Server;
  private metricsServer?: Server;
  private readonly extraRedis: Redis[] = [];
  private started = false;
  /** The HTTP app's listener once the role serves HTTP; tests inject requests into it without a socket. */
  requestListener?: RequestListener;
  private registered = false;
  private readonly contributions: PluginContributions = { entities: [], migrations: [] };
  readonly extensions: ProcessExtensions;
  /** Where fired schedules run (`kernel.schedules`). */
  readonly scheduleQueue: QueueRef;

  constructor(private readonly options: KernelOptions) {
    const { config } = options;
    this.logger = options.logger ?? createLogger(config.logging.level, { role: config.role });
    this.metrics = new KernelMetrics(options.processMetrics ?? true);
    this.hooks = createHookBus(this.logger, this.metrics);
    const { bodyLimitBytes, timeouts } = config.server;
    this.router = new KernelRouter((ctx) => this.auth.authenticate(ctx), {
      limitBytes: bodyLimitBytes, idleMs: timeouts.jsonBodyIdleMs, deadlineMs: timeouts.jsonBodyMs,
    });
    const authority = {
      redeem: (ticket: string) => this.tickets!.redeem(ticket),
      liveSession: (sessionId: string, accountId: string) => this.auth.liveSession(sessionId, accountId),
      liveApiKey: (keyId: string, accountId: string) => this.auth.apiKeys!.live(keyId, accountId),
    };
    this.http = {
      upgrades: new UpgradeDispatcher(config, authority, this.logger),
      hostRoutes: new HostRoutes(),
      statusSections: new StatusSections(this.logger),
    };
    this.queues = new KernelQueues(() => this.redis, () => this.workerRedis(), `${config.redis.prefix}:q`, this.logger, this.metrics);
    this.extensions = {
      roles: new RoleRegistry(),
      loops: new LeaderLoops(config.redis.prefix, config.loops.leaseMs, this.logger),
      commands: new CommandRegistry(),
      health: new HealthChecks(),
      operations: new OperationRegistry(),
    };
    // Declared before any role is planned: a schedule worker is a role of its own, scaled apart from provisioning.
    this.scheduleQueue = this.queues.declare('kernel', 'schedules', { concurrency: config.management.schedules.concurrency });
    this.extensions.roles.define('kernel', 'schedule-worker', { summary: 'runs server schedules (power, commands, backups)', queues: [this.scheduleQueue, KernelQueue.notifications] });
  }

  get config(): KernelConfig {
    return this.options.config;
  }

  /** Port of the HTTP server once listening (0 when this role serves no HTTP). */
  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  resolve<T>(token: PortRef<T>): T {
    return this.container.resolve(portKey(token));
  }

  /** register → role and ports checked → migrations → start, then workers, loops and HTTP as the role says. */
  async start(): Promise<void> {
    this.register();
    const plan = this.extensions.roles.plan(this.config.role, this.queues.declaredQueues(), this.queues.workedBy(this.config.role));
    requireProvisioningPorts(plan, (port) => isBound(this.container, port));
    await this.boot();
    await this.startPlugins();
    this.queues.startWorkers(plan.queues, {
      lockDurationMs: this.config.queues.lockDurationMs,
      stalledIntervalMs: this.config.queues.stalledIntervalMs,
    });
    if (plan.loops) this.extensions.loops.start(this.redis, this.ds);
    if (plan.queues.includes(KernelQueue.provisioning)) {
      const { sweepIntervalSeconds, sweepAfterSeconds } = this.config.provisioning;
      const sweep = () => void this.instances.sweepQueued(sweepAfterSeconds).catch((err) => this.logger.warn({ err }, 'sweep failed'));
      this.sweeper = setInterval(sweep, sweepIntervalSeconds * 1000);
      this.sweeper.unref();
    }
    if (plan.queues.includes(RETENTION_QUEUE)) {
      // Not awaited: with Redis down the scheduler is upserted once it is back, and boot goes on.
      void this.queues.repeat(RETENTION_QUEUE, RETENTION_JOB, this.config.retention.intervalSeconds * 1000)
        .catch((err) => this.logger.warn({ err }, 'could not schedule the retention job'));
    }
    if (plan.queues.includes(KernelQueue.notifications)) {
      const every = (seconds: number) => seconds * 1000;
      for (const [job, ms] of [[SWEEP_JOB, every(this.config.notifications.sweepIntervalSeconds)], [MAINTENANCE_NOTICES_JOB, every(this.config.maintenance.checkIntervalSeconds)]] as const) {
        void this.queues.repeat(KernelQueue.notifications, job, ms).catch((err) => this.logger.warn({ err, job }, 'could not schedule a repeatable job'));
      }
    }
    if (plan.http) await this.listen();
    this.metricsServer = await listenForMetrics(this.config.metrics.listener, this.metrics);
    this.announce(plan);
  }

  /** Says what this process runs, and says so plainly when that is nothing. */
  private announce(plan: RolePlan): void {
    const work = workOf(plan, (q) => this.queues.hasJobs(q), this.extensions.loops.names());
    this.logger.info({ role: plan.name, plugins: this.hosts.map((h) => h.plugin.definition.name), port: this.port, ...work }, 'zpack started');
    if (!plan.http && !work.queues.length && !work.loops.length && plan.name !== SIMULATORS_ROLE) {
      this.logger.warn({ role: plan.name, idleQueues: work.idleQueues }, `role ${plan.name} has nothing to run: no job is defined on its queues and no loop is registered`);
    }
  }

  /** Plugins' start, in dependency order (also before a plugin command runs). */
  async startPlugins(): Promise<void> {
    this.started = true;
    const simulators = this.resolve(Tokens.Simulators) as KernelSimulators;
    await simulators.load(this.config.simulators.waitSeconds * 1000);
    for (const host of this.hosts) {
      await host.plugin.definition.start?.(host.runtime);
      this.logger.debug({ plugin: host.plugin.definition.name }, 'plugin started');
    }
    await simulators.announce();
  }

  /**
   * Plugins loaded and registered, test overrides applied, every consumed port checked; no I/O.
   * Enough for `zpack help` to list roles and commands.
   */
  register(): void {
    if (this.registered) return;
    this.registered = true;
    const { config } = this.options;
    const c = this.container;
    c.register(Tokens.Logger, { useValue: this.logger });
    c.register(Tokens.Hooks, { useValue: this.hooks });
    c.register(Tokens.Metrics, { useValue: this.metrics.registry });
    c.register(Tokens.Clock, { useValue: systemClock });
    const host = config.role === SIMULATORS_ROLE;
    c.register(Tokens.Simulators, { useValue: new KernelSimulators(config.simulators.stateDir, {
      redis: () => this.redis!, key: `${config.redis.prefix}:simulators`, host, remote: !host && config.simulators.mode === 'remote',
    }) });
    c.register(Tokens.Queues, { useValue: this.queues });

    const loaded = resolvePlugins(config.plugins, modulePluginSource(this.options.distRoot, this.options.plugins));
    const providedBy = new Map<string, string>();
    for (const plugin of loaded) {
      const host = new PluginHost(plugin, c, providedBy, this.logger);
      host.register(this.hooks, this.router, this.queues, this.contributions, this.http, this.extensions);
      this.hosts.push(host);
    }
    for (const o of this.options.overrides ?? []) c.register(portKey(o.token), { useValue: o.value });
    for (const host of this.hosts) host.checkConsumes();
    for (const command of this.extensions.commands.list()) {
      if (this.extensions.roles.has(command.name)) {
        throw new BootError(`command "${command.name}" of plugin "${command.plugin}" has the name of a role`, 'command_defined_twice');
      }
    }
  }

  /** Plugins registered, database migrated, services wired; nothing started (migrate, create-admin, plugin commands). */
  async boot(): Promise<void> {
    this.register();
    const { config } = this.options;
    const c = this.container;
    this.redis = connectRedis(config.redis.url, 'command');
    this.redis.on('error', (err) => this.logger.debug({ err: err.message }, 'redis connection error'));
    c.register(Tokens.Redis, { useValue: this.redis });
    c.register(Tokens.RedisPrefix, { useValue: this.config.redis.prefix });
    const contributions = this.contributions;

    this.ds = await openDatabase({ url: config.database.url, schema: config.database.schema, pool: config.database.pool, ...contributions, logger: this.logger });
    c.register(Tokens.DataSource, { useValue: this.ds });
    await runMigrations(this.ds, this.logger);

    const templates = new TemplateRegistry();
    c.register(Tokens.NotificationTemplates, { useValue: templates });
    c.register(Tokens.Pager, { useValue: { page: pageRows } });
    const notifications = new NotificationOutbox(this.ds, this.queues, () => this.resolveAll(Notifier), this.logger, templates, config.notifications);
    this.outbox = notifications;
    c.register(Tokens.Notifications, { useValue: notifications });
    const maintenance = new MaintenanceSchedule(this.ds, notifications, () => this.optional(Announcements), config.maintenance, this.logger);
    this.maintenance = maintenance;
    this.queues.define(MAINTENANCE_NOTICES_JOB, KernelQueue.notifications, () => maintenance.notices());
    if (!c.isRegistered(Tokens.Maintenance)) c.register(Tokens.Maintenance, { useValue: maintenance });
    const clock = this.resolve(Tokens.Clock);
    const tokens = new AccessTokens(await this.secret('auth.jwtSecret', config.auth.jwtSecret), config.auth.accessTtlSeconds);
    c.register(Tokens.AgentTokens, { useValue: new DerivedAgentTokens(await this.secret('agents.tokenSecret', config.auth.agentTokenSecret)) });
    this.tickets = new KernelUpgradeTickets(this.redis, config.redis.prefix, config.console.ticketTtlSeconds);
    c.register(Tokens.UpgradeTickets, { useValue: this.tickets });
    this.cache = new AccountCache(this.redis, config.redis.prefix, this.logger);
    this.auth = new AuthService(this.ds, tokens, new RateLimiter(this.redis, config.redis.prefix), notifications, clock, config, this.logger, this.cache,
      (r) => this.console.revoke(r));

    const activity = new KernelActivityLog(this.ds);
    c.register(Tokens.Activity, { useValue: activity });
    this.auth.apiKeys = new ApiKeys(this.ds, new RateLimiter(this.redis, config.redis.prefix), config, (r) => this.console.revoke(r));
    this.router.bindServerGate({ access: () => this.resolve(Tokens.Access), activity: () => activity });
    const kernelRoutes = this.router.for('kernel');
    healthRoutes(kernelRoutes, { ds: this.ds, redis: this.redis, queues: this.queues, router: this.router, checks: this.extensions.health });
    metricsRoutes(kernelRoutes, { ds: this.ds, metrics: this.metrics, config: config.metrics, authenticate: (ctx) => this.auth.authenticate(ctx) });
    authRoutes(kernelRoutes, this.auth);
    notificationRoutes(kernelRoutes, { ds: this.ds, outbox: notifications, templates });
    maintenanceRoutes(kernelRoutes, { ds: this.ds, schedule: maintenance, logger: this.logger });
    accountRoutes(kernelRoutes, { ds: this.ds, config, optional: (p) => this.optional(p), cache: this.cache, closeConsoles: (r) => this.console.revoke(r) });
    apiKeyRoutes(kernelRoutes, { ds: this.ds, keys: this.auth.apiKeys, activity });
    Object.assign(this, wireInstances({
      activity, scheduleQueue: this.scheduleQueue, publicUrl: config.server.publicUrl || `http://${config.server.host}:${config.server.port}`,
      ds: this.ds, redis: this.redis, config, hooks: this.hooks, queues: this.queues, logger: this.logger, metrics: this.metrics, notifications,
      routes: kernelRoutes, container: c, ports: this, agentTokens: this.resolve(Tokens.AgentTokens),
      accountChanged: (accountId) => this.cache!.forget({ quotaOf: accountId }),
      tickets: this.tickets, http: this.http, liveSession: (sessionId, accountId) => this.auth.liveSession(sessionId, accountId),
      apiKeyExpiry: (keyId) => this.auth.apiKeys!.expiresAt(keyId),
      operations: this.extensions.operations, maintenance,
    }));
    this.controller = new Controller({
      ds: this.ds, redis: this.redis, config, hooks: this.hooks, queues: this.queues, logger: this.logger, metrics: this.metrics,
      directory: this.directory, readiness: this.readiness, agentTokens: this.resolve(Tokens.AgentTokens),
      controlPlaneUrl: config.server.apiUrl || `http://${config.server.host}:${config.server.port}`,
      routes: kernelRoutes, loops: this.extensions.loops, resolve: (t) => this.resolve(t), ports: this,
    });
    registerQueueMetrics(this.metrics, this.queues);
    this.hooks.onCrash.tapPromise('kernel-metrics', async (crash) => void this.metrics.crashes.inc({ class: crash.classification ?? 'unexpected_exit' }));
    this.hooks.onBillingSuspend.tapPromise('kernel-metrics', async (_account, state) => void this.metrics.billingTransitions.inc({ state }));
    this.hooks.onBillingRestore.tapPromise('kernel-metrics', async () => void this.metrics.billingTransitions.inc({ state: 'restored' }));
    const retention = new RetentionPolicy(this.ds, config.retention, this.metrics, this.logger, this.uptime);
    this.queues.define(RETENTION_JOB, RETENTION_QUEUE, () => retention.prune());
  }

  /** A port some plugin must provide; says which when none does. */
  required<T>(port: PortRef<T>): T {
    const found = this.optional(port);
    if (found === undefined) {
      const name = portName(port);
      throw new UnavailableError(`No enabled plugin provides ${name}`, { port: name });
    }
    return found;
  }

  resolveAll<T>(port: PortRef<T>): T[] {
    return isBound(this.container, port) ? this.container.resolveAll(portKey(port)) : [];
  }

  optional<T>(port: PortRef<T>): T | undefined {
    return isBound(this.container, port) ? this.container.resolve(portKey(port)) : undefined;
  }

  /** Runs a plugin's command in a booted kernel with its plugins started; the caller stops the kernel. */
  async runCommand(name: string, args: string[]): Promise<number> {
    const entry = this.extensions.commands.get(name);
    if (!entry) throw new BootError(`unknown command "${name}"`, 'unknown_command');
    await this.prepareCommand();
    return (await entry.command.run(args, entry.runtime)) ?? 0;
  }

  /** A command's kernel: booted, plugins started (their ports usable), no HTTP, no queue work. */
  async prepareCommand(): Promise<void> {
    await this.boot();
    await this.startPlugins();
  }

  private async listen(): Promise<void> {
    // Subscribed before the first request: /readyz must not answer while start() is still
    // subscribing, or a stop that follows it at once closes the subscribers under start().
    await this.console.listen();
    await this.cache!.listen();
    const app = createApp(this.router, this.logger, this.metrics, this.config.server.trustProxy, this.http.hostRoutes, this.config.server.cors);
    const listener = rawRoutesFirst(this.http.hostRoutes.raw, app.callback(), { trustProxy: this.config.server.trustProxy, metrics: this.metrics, logger: this.logger });
    this.requestListener = listener;
    const { headersMs, requestMs } = this.config.server.timeouts;
    // Node checks both timeouts every connectionsCheckingInterval (30 s by default): check each second instead.
    const server = createServer({ headersTimeout: headersMs, requestTimeout: requestMs, connectionsCheckingInterval: 1000 }, listener);
    server.on('upgrade', (req, socket, head) => void this.http.upgrades.handle(req, socket, head));
    server.keepAliveTimeout = 65_000;
    server.listen(this.config.server.port, this.config.server.host);
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE'
        ? new BootError(`cannot listen on ${this.config.server.host}:${this.config.server.port}: the address is in use (set PORT)`, 'address_in_use')
        : err));
    });
    this.server = server;
    // Simulators that call the API back (a payment provider's webhooks) find it here.
    const host = ['0.0.0.0', '::'].includes(this.config.server.host) ? '127.0.0.1' : this.config.server.host;
    this.resolve(Tokens.Simulators).publish(API_SIMULATOR_NAME, `http://${host.includes(':') ? `[${host}]` : host}:${this.port}`);
  }

  /** Reverse of start: HTTP → workers → plugins → queues → database → Redis. */
  async stop(): Promise<void> {
    const stage = (name: string) => this.started && this.logger.info(`stopping ${name}`);
    clearInterval(this.sweeper);
    stage('HTTP');
    // Even when listen() failed half-way: a subscriber left open would keep the process alive.
    await this.console?.close();
    this.http.upgrades.close();
    this.operationEvents?.close();
    this.fleetEvents?.close();
    this.cache?.close();
    if (this.server) {
      const server = this.server;
      this.server = undefined;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests still running after the grace period are cut off rather than holding the stop.
        setTimeout(() => server.closeAllConnections(), 10_000).unref();
      });
    }
    if (this.metricsServer) {
      const metricsServer = this.metricsServer;
      this.metricsServer = undefined;
      await new Promise<void>((resolve) => {
        metricsServer.close(() => resolve());
        metricsServer.closeAllConnections();
      });
    }
    stage('workers');
    await Promise.all([this.queues.closeWorkers(), this.extensions.loops.stop()]);
    stage('plugins');
    if (this.started) {
      if (this.redis) await (this.resolve(Tokens.Simulators) as KernelSimulators).withdraw();
      for (const host of [...this.hosts].reverse()) {
        await host.plugin.definition.stop?.(host.runtime).catch((err) => this.logger.error({ err, plugin: host.plugin.definition.name }, 'plugin stop failed'));
      }
    }
    stage('queues');
    await this.queues.close();
    stage('database connections');
    // Activity recorded by the last requests and consoles is written before the pool closes.
    if (this.container.isRegistered(Tokens.Activity)) await (this.resolve(Tokens.Activity) as KernelActivityLog).flushed();
    if (this.ds?.isInitialized) await this.ds.destroy();
    if (this.config.database.dropSchemaOnStop) await dropSchema(this.config.database.url, this.config.database.schema);
    stage('Redis connections');
    for (const r of [...this.extraRedis.splice(0), this.redis].filter(Boolean)) {
      if (r.status === 'ready') await r.quit().catch(() => r.disconnect());
      else r.disconnect();
    }
    this.started = false;
  }

  private workerRedis(): Redis {
    const r = connectRedis(this.config.redis.url, 'worker');
    r.on('error', (err) => this.logger.debug({ err: err.message }, 'redis worker connection error'));
    this.extraRedis.push(r);
    return r;
  }

  /** The configured secret, or one generated once and shared by every process through the database. */
  private async secret(key: string, configured: string): Promise<string> {
    if (configured) {
      if (configured.length < 32) this.logger.warn({ key }, 'secret is shorter than 32 characters');
      return configured;
    }
    const repo = this.ds.getRepository(Setting);
    await repo.createQueryBuilder().insert().values({ key, value: randomBytes(48).toString('base64url') }).orIgnore().execute();
    return (await repo.findOneByOrFail({ key })).value;
  }
}
