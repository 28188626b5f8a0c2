import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import type { DataSource } from 'typeorm';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { BootError, Notifier, Tokens, UnavailableError } from '../api';
import type { Clock, KernelHooks, PluginDefinition, PortRef } from '../api';
import type { KernelConfig } from './config';
import { dropSchema, openDatabase, runMigrations } from './database';
import { Setting } from './entities';
import { createHookBus } from './hook-bus';
import { createApp } from './http/app';
import { KernelRouter } from './http/router';
import { createLogger } from './logger';
import { KernelMetrics } from './metrics';
import { NotificationOutbox } from './notifications';
import { PluginHost, type PluginContributions } from './plugin-host';
import { modulePluginSource, resolvePlugins } from './plugin-loader';
import { KernelQueues } from './queues';
import { connectRedis } from './redis';
import { roleSpec } from './roles';
import { AuthService } from './auth/auth-service';
import { RateLimiter } from './auth/rate-limit';
import { AccessTokens } from './auth/tokens';
import { AccountCache } from './auth/account-cache';
import { accountRoutes } from './routes/accounts';
import { authRoutes } from './routes/auth';
import { healthRoutes } from './routes/health';
import { registerQueueMetrics } from './queue-metrics';
import { wireInstances } from './instance-wiring';
import type { ConsoleGateway } from './console/gateway';
import type { KernelInstanceDirectory } from './operations/directory';
import type { InstanceReadiness } from './operations/readiness';
import type { InstanceService } from './operations/instances';
import type { Supervisor } from './supervision/supervisor';
import { DerivedAgentTokens } from './agent-tokens';
import { RETENTION_JOB, RetentionPolicy } from './retention';

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
const RETENTION_QUEUE = 'repair' as const;

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
  ds!: DataSource;
  redis!: Redis;
  queues!: KernelQueues;
  auth!: AuthService;
  instances!: InstanceService;
  directory!: KernelInstanceDirectory;
  readiness!: InstanceReadiness;
  supervisor!: Supervisor;
  private cache?: AccountCache;
  console!: ConsoleGateway;
  private sweeper?: NodeJS.Timeout;
  private hosts: PluginHost[] = [];
  /** Port name → the plugin providing it (single-provider ports only). */
  private readonly providedBy = new Map<string, string>();
  private server?: Server;
  private readonly extraRedis: Redis[] = [];
  private started = false;

  constructor(private readonly options: KernelOptions) {
    const { config } = options;
    this.logger = options.logger ?? createLogger(config.logging.level, { role: config.role });
    this.metrics = new KernelMetrics(options.processMetrics ?? true);
    this.hooks = createHookBus(this.logger, this.metrics);
    const { bodyLimitBytes, timeouts } = config.server;
    this.router = new KernelRouter((ctx) => this.auth.authenticate(ctx), {
      limitBytes: bodyLimitBytes, idleMs: timeouts.jsonBodyIdleMs, deadlineMs: timeouts.jsonBodyMs,
    });
  }

  get config(): KernelConfig {
    return this.options.config;
  }

  /** Port of the HTTP server once listening (0 when this role serves no HTTP). */
  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  resolve<T>(token: PortRef<T>): T {
    return this.container.resolve(token as any);
  }

  /** register → migrations → start, then workers and HTTP as the role says. */
  async start(): Promise<void> {
    await this.boot();
    this.started = true;
    for (const host of this.hosts) {
      await host.plugin.definition.start?.(host.runtime);
      this.logger.debug({ plugin: host.plugin.definition.name }, 'plugin started');
    }
    const spec = roleSpec[this.config.role];
    this.queues.startWorkers(spec.queues, {
      concurrency: { provisioning: this.config.provisioning.concurrency },
      lockDurationMs: this.config.queues.lockDurationMs,
      stalledIntervalMs: this.config.queues.stalledIntervalMs,
    });
    if (spec.queues.includes('provisioning')) {
      const { sweepIntervalSeconds, sweepAfterSeconds } = this.config.provisioning;
      const sweep = () => void this.instances.sweepQueued(sweepAfterSeconds).catch((err) => this.logger.warn({ err }, 'sweep failed'));
      this.sweeper = setInterval(sweep, sweepIntervalSeconds * 1000);
      this.sweeper.unref();
    }
    if (spec.queues.includes(RETENTION_QUEUE)) {
      // Not awaited: with Redis down the scheduler is upserted once it is back, and boot goes on.
      void this.queues.repeat(RETENTION_QUEUE, RETENTION_JOB, this.config.retention.intervalSeconds * 1000)
        .catch((err) => this.logger.warn({ err }, 'could not schedule the retention job'));
    }
    if (spec.http) await this.listen();
    this.logger.info({ plugins: this.hosts.map((h) => h.plugin.definition.name), port: this.port }, 'zpack started');
  }

  /** Plugins registered, database migrated, services wired; nothing started (migrate, create-admin). */
  async boot(): Promise<void> {
    const { config } = this.options;
    const c = this.container;
    c.register(Tokens.Logger, { useValue: this.logger });
    c.register(Tokens.Hooks, { useValue: this.hooks });
    c.register(Tokens.Metrics, { useValue: this.metrics.registry });
    c.register(Tokens.Clock, { useValue: systemClock });

    this.redis = connectRedis(config.redis.url, 'command');
    this.redis.on('error', (err) => this.logger.debug({ err: err.message }, 'redis connection error'));
    this.queues = new KernelQueues(this.redis, () => this.workerRedis(), `${config.redis.prefix}:q`, this.logger, this.metrics);
    c.register(Tokens.Redis, { useValue: this.redis });
    c.register(Tokens.Queues, { useValue: this.queues });

    const loaded = resolvePlugins(config.plugins, modulePluginSource(this.options.distRoot, this.options.plugins));
    const contributions: PluginContributions = { entities: [], migrations: [] };
    for (const plugin of loaded) {
      const host = new PluginHost(plugin, c, this.providedBy, this.logger);
      host.register(this.hooks, this.router, this.queues, contributions);
      this.hosts.push(host);
    }
    for (const o of this.options.overrides ?? []) c.register(o.token as any, { useValue: o.value });

    this.ds = await openDatabase({ url: config.database.url, schema: config.database.schema, ...contributions, logger: this.logger });
    c.register(Tokens.DataSource, { useValue: this.ds });
    await runMigrations(this.ds, this.logger);

    const notifications = new NotificationOutbox(this.ds, this.queues, () => this.resolveAll(Notifier), this.logger);
    c.register(Tokens.Notifications, { useValue: notifications });
    const clock = this.resolve(Tokens.Clock);
    const tokens = new AccessTokens(await this.secret('auth.jwtSecret', config.auth.jwtSecret), config.auth.accessTtlSeconds);
    c.register(Tokens.AgentTokens, { useValue: new DerivedAgentTokens(await this.secret('agents.tokenSecret', config.auth.agentTokenSecret)) });
    this.cache = new AccountCache(this.redis, config.redis.prefix, this.logger);
    this.auth = new AuthService(this.ds, tokens, new RateLimiter(this.redis, config.redis.prefix), notifications, clock, config, this.logger, this.cache,
      (r) => this.console.revoke(r));

    const kernelRoutes = this.router.for('kernel');
    healthRoutes(kernelRoutes, { ds: this.ds, redis: this.redis, metrics: this.metrics, queues: this.queues, router: this.router });
    authRoutes(kernelRoutes, this.auth);
    accountRoutes(kernelRoutes, { ds: this.ds, config, optional: (p) => this.optional(p), cache: this.cache, closeConsoles: (r) => this.console.revoke(r) });
    Object.assign(this, wireInstances({
      ds: this.ds, redis: this.redis, config, hooks: this.hooks, queues: this.queues, logger: this.logger, notifications,
      routes: kernelRoutes, container: c, ports: this, agentTokens: this.resolve(Tokens.AgentTokens),
      accountChanged: (accountId) => this.cache!.forget({ quotaOf: accountId }),
      liveSession: (sessionId, accountId) => this.auth.liveSession(sessionId, accountId),
    }));
    registerQueueMetrics(this.metrics, this.queues);
    const retention = new RetentionPolicy(this.ds, config.retention, this.metrics, this.logger);
    this.queues.define(RETENTION_JOB, RETENTION_QUEUE, () => retention.prune());
  }

  /** A port some plugin must provide; says which when none does. */
  required<T>(port: PortRef<T>): T {
    const found = this.optional(port);
    if (found === undefined) {
      const name = typeof port === 'function' ? ((port as any).port ?? port.name) : String(port.description);
      throw new UnavailableError(`No enabled plugin provides ${name}`, { port: name });
    }
    return found;
  }

  resolveAll<T>(port: PortRef<T>): T[] {
    return this.container.isRegistered(port as any, true) ? this.container.resolveAll(port as any) : [];
  }

  optional<T>(port: PortRef<T>): T | undefined {
    return this.container.isRegistered(port as any, true) ? this.container.resolve(port as any) : undefined;
  }

  /** The name of the plugin providing a single-provider port, if one does. */
  providerOf(port: PortRef<unknown>): string | undefined {
    return this.providedBy.get(typeof port === 'function' ? ((port as any).port ?? port.name) : String(port.description));
  }

  private async listen(): Promise<void> {
    // Subscribed before the first request: /readyz must not answer while start() is still
    // subscribing, or a stop that follows it at once closes the subscribers under start().
    await this.console.listen();
    await this.cache!.listen();
    const app = createApp(this.router, this.logger, this.metrics, this.config.server.trustProxy);
    const { headersMs, requestMs } = this.config.server.timeouts;
    // Node checks both timeouts every connectionsCheckingInterval (30 s by default): check each second instead.
    const server = createServer({ headersTimeout: headersMs, requestTimeout: requestMs, connectionsCheckingInterval: 1000 }, app.callback());
    server.on('upgrade', (req, socket, head) => void this.console.handleUpgrade(req, socket, head));
    server.keepAliveTimeout = 65_000;
    server.listen(this.config.server.port, this.config.server.host);
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE'
        ? new BootError(`cannot listen on ${this.config.server.host}:${this.config.server.port}: the address is in use (set PORT)`)
        : err));
    });
    this.server = server;
  }

  /** Reverse of start: HTTP → workers → plugins → queues → database → Redis. */
  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    // Even when listen() failed half-way: a subscriber left open would keep the process alive.
    await this.console?.close();
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
    await this.queues?.closeWorkers();
    if (this.started) {
      for (const host of [...this.hosts].reverse()) {
        await host.plugin.definition.stop?.(host.runtime).catch((err) => this.logger.error({ err, plugin: host.plugin.definition.name }, 'plugin stop failed'));
      }
    }
    await this.queues?.close();
    if (this.ds?.isInitialized) await this.ds.destroy();
    if (this.config.database.dropSchemaOnStop) await dropSchema(this.config.database.url, this.config.database.schema);
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
