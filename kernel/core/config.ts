import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { BootError } from '../api';

const pluginEntry = z.object({
  enabled: z.boolean().default(true),
  /** Where the plugin lives when not under plugins/<name>: an npm package or a path. */
  module: z.string().optional(),
  options: z.record(z.string(), z.unknown()).default({}),
});

const range = z.object({ min: z.number().int().min(1), max: z.number().int().min(1) })
  .refine((r) => r.max >= r.min, 'max must be ≥ min');
const rateWindow = z.object({ max: z.number().int().positive(), windowSeconds: z.number().int().positive() });

export const kernelConfigSchema = z.object({
  /** A registered process role (the kernel's or a plugin's); checked against the registry at boot. */
  role: z.string().min(1).default('all'),
  server: z.object({
    host: z.string().default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65535).default(3000),
    /** The portal's address (mails link to it, e.g. the password reset). Empty: http://host:port. */
    publicUrl: z.string().default(''),
    /** This API's address as agents in containers reach it (their events). Empty: http://host:port. */
    apiUrl: z.string().default(''),
    bodyLimitBytes: z.number().int().positive().default(1024 * 1024),
    trustProxy: z.boolean().default(false),
    timeouts: z.object({
      /** Request headers must have arrived within this. */
      headersMs: z.number().int().positive().default(20_000),
      /** The whole request, streamed uploads included; then Node answers 408 and closes. */
      requestMs: z.number().int().positive().default(300_000),
      /** A JSON body must arrive whole within this, with no gap longer than jsonBodyIdleMs (else 408). */
      jsonBodyMs: z.number().int().positive().default(15_000),
      jsonBodyIdleMs: z.number().int().positive().default(5_000),
    }).refine((t) => t.headersMs <= t.requestMs, 'headersMs must be ≤ requestMs').prefault({}),
    cors: z.object({
      /** Portal origins (scheme://host[:port]) a browser may call the API from; others get no CORS headers. */
      allowedOrigins: z.array(z.url().transform((u) => new URL(u).origin)).default([]),
      /** How long a browser may reuse a preflight answer. */
      maxAgeSeconds: z.number().int().min(0).max(86_400).default(600),
    }).prefault({}),
    events: z.object({
      /** How often an operation's event stream looks for a new phase. */
      pollMs: z.number().int().positive().default(500),
      /** A comment line this often keeps proxies from closing a quiet stream. */
      heartbeatMs: z.number().int().positive().default(15_000),
    }).prefault({}),
  }).prefault({}),
  database: z.object({
    /** Empty: the embedded Postgres under embedded.dir. */
    url: z.string().default(''),
    schema: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('public'),
    /** Drop the schema on stop (test runs only). */
    dropSchemaOnStop: z.boolean().default(false),
    /**
     * Connections this process may hold. Every process of a fleet has its own pool: their sum must
     * stay under Postgres' max_connections (100 by default).
     */
    pool: z.object({
      max: z.number().int().min(1).max(1000).default(20),
      /** Waiting longer than this for a connection → 503 database_unavailable (retried by workers). */
      connectionTimeoutMs: z.number().int().positive().default(5000),
    }).prefault({}),
    embedded: z.object({
      dir: z.string().default('./data/pg'),
      /** 0: a free port at each start (other processes find it in the data folder's postmaster.pid). */
      port: z.number().int().min(0).max(65535).default(0),
      /** As root, where binaries and data go when the postgres user cannot enter the checkout. */
      systemDir: z.string().default('/var/lib/zpack'),
    }).prefault({}),
  }).prefault({}),
  redis: z.object({
    url: z.string().default(''),
    /** Every key this kernel writes (BullMQ and its own) starts with it. */
    prefix: z.string().default('zpack'),
    embedded: z.object({ dir: z.string().default('./data/redis'), port: z.number().int().default(6380) }).prefault({}),
  }).prefault({}),
  auth: z.object({
    /** Empty: a random secret is generated once and kept in the database (embedded default only). */
    jwtSecret: z.string().default(''),
    /** Derives per-instance agent tokens. Empty: generated once and kept in the database. */
    agentTokenSecret: z.string().default(''),
    accessTtlSeconds: z.number().int().positive().default(900),
    refreshTtlSeconds: z.number().int().positive().default(30 * 24 * 3600),
    resetTtlSeconds: z.number().int().positive().default(3600),
    loginLimit: z.object({
      perAccount: rateWindow.default({ max: 5, windowSeconds: 900 }),
      perAddress: rateWindow.default({ max: 30, windowSeconds: 60 }),
    }).prefault({}),
    registerLimit: z.object({
      perAddress: rateWindow.default({ max: 10, windowSeconds: 3600 }),
      /** "You already have an account" mails to one address; more are dropped, so nobody can mail-bomb with it. */
      mailsPerAccount: rateWindow.default({ max: 3, windowSeconds: 3600 }),
    }).prefault({}),
    passwordMinLength: z.number().int().min(8).default(10),
  }).prefault({}),
  quota: z.object({ defaultMaxInstances: z.number().int().min(0).default(3) }).prefault({}),
  status: z.object({
    /** How long one agent readiness answer serves GET /api/servers/:id/status for that server; 0 asks on every read. */
    readinessCacheMs: z.number().int().min(0).default(2000),
  }).prefault({}),
  provisioning: z.object({
    vmidRange: range.default({ min: 5000, max: 5999 }),
    /** Host ports for instances; a neutral unprivileged range, no service's well-known port. */
    portRange: range.default({ min: 30000, max: 31999 }),
    /** How long a new instance may take to become semantically ready. */
    readyTimeoutSeconds: z.number().positive().default(300),
    /** Between readiness checks the operation waits as a delayed job, holding no worker; the agent's ready event wakes it early. */
    readyPollMs: z.number().int().positive().default(2000),
    /** Past this the worker fails an unfinished operation with deadline_exceeded and undoes it. */
    deadlineSeconds: z.number().int().positive().default(900),
    /** A worker's hold on an operation, renewed by a heartbeat every third of it; a dead worker's is taken over after it. */
    leaseSeconds: z.number().positive().default(15),
    concurrency: z.number().int().min(1).default(4),
    /** First wait before retrying a safe remote step (start, status, destroy …); doubles each time. */
    retryBackoffMs: z.number().int().positive().default(200),
    /** How often a provision worker re-enqueues operations that never reached the queue (Redis was down). */
    sweepIntervalSeconds: z.number().positive().default(15),
    /** How long an operation must have waited as queued before the sweeper re-enqueues it. */
    sweepAfterSeconds: z.number().positive().default(10),
  }).prefault({}),
  files: z.object({
    /** Largest upload or file write passed to an agent. */
    maxUploadBytes: z.number().int().positive().default(1024 ** 3),
  }).prefault({}),
  console: z.object({
    /** Browser origins allowed to open a console. */
    allowedOrigins: z.array(z.string()).default([]),
    /** Let a request without Origin (not a browser: a CLI or a script with a valid ticket) open a console. */
    allowMissingOrigin: z.boolean().default(false),
    ticketTtlSeconds: z.number().int().positive().default(30),
    /** How long to wait for the agent's console before closing the client's socket. */
    connectTimeoutMs: z.number().int().positive().default(5000),
    maxMessageBytes: z.number().int().positive().default(1024 * 1024),
    /** Ping period; a peer that misses a pong by the next ping is closed. */
    pingIntervalMs: z.number().int().positive().default(30_000),
    /** Buffered bytes on one side before the other side is paused. */
    highWaterBytes: z.number().int().positive().default(1024 * 1024),
    /** How often a `zpack.console.v1` console is sent the server's stats. */
    statsIntervalMs: z.number().int().positive().default(5000),
    /**
     * A console ends when its login session expires or this long after it opened, whichever is
     * first (a forgotten tab does not hold a PTY for ever). At most 7 days.
     */
    maxLifetimeSeconds: z.number().int().positive().max(7 * 24 * 3600).default(12 * 3600),
    /** How long before that end a v1 console is sent `{type:"expiring",inSeconds}`. */
    expiringNoticeSeconds: z.number().int().positive().default(60),
    /** Typed commands recorded one by one in the activity log (a burst, then a rate); past it, summed up once a second. */
    commandLog: z.object({
      burst: z.number().int().positive().default(50),
      perSecond: z.number().positive().default(10),
    }).prefault({}),
  }).prefault({}),
  management: z.object({
    apiKeys: z.object({
      /** Requests per key per window, answered with RateLimit-* headers; 429 past it. */
      rateLimit: rateWindow.default({ max: 600, windowSeconds: 60 }),
      /** Keys one account may hold. */
      maxPerAccount: z.number().int().positive().default(25),
    }).prefault({}),
    schedules: z.object({
      /** A cron that fires more often than this is refused (400). */
      minIntervalSeconds: z.number().int().positive().default(300),
      maxPerServer: z.number().int().positive().default(20),
      /** A task's delay offset is capped here (tasks of one run wait in one job). */
      maxTaskDelaySeconds: z.number().int().min(0).default(900),
      /** Schedule runs at once per worker. */
      concurrency: z.number().int().positive().default(20),
    }).prefault({}),
    invitations: z.object({
      /** Invitations (each one a mail to an address the inviter chose) one account may send per window; 429 past it. */
      rateLimit: rateWindow.default({ max: 20, windowSeconds: 3600 }),
    }).prefault({}),
    /** Backups a server keeps when the plan says nothing (BillingGate.entitlementsOf → null). */
    defaultBackupsMax: z.number().int().positive().default(5),
  }).prefault({}),
  supervisor: z.object({
    /** Delay before the n-th consecutive restart: base × 2^(n-1) (30 s → 60 s → 120 s). */
    backoffBaseSeconds: z.number().positive().default(30),
    /** Restarts in a row before the instance goes to `error`. */
    maxRestarts: z.number().int().min(0).default(3),
    /** A run that lived at least this long resets the count. */
    resetAfterUptimeSeconds: z.number().min(0).default(30),
  }).prefault({}),
  queues: z.object({
    /** BullMQ job lock; a worker that dies loses its job after this and another takes it. */
    lockDurationMs: z.number().int().positive().default(15_000),
    stalledIntervalMs: z.number().int().positive().default(5_000),
  }).prefault({}),
  loops: z.object({
    /** A leader loop's Redis lease; a dead leader is replaced within it, a live one renews it every third of it. */
    leaseMs: z.number().int().min(300).default(15_000),
  }).prefault({}),
  controller: z.object({
    /** Runs the reconcile loop in the roles that run loops; off, nothing is compared or repaired (the admin routes still answer). */
    enabled: z.boolean().default(true),
    /**
     * 0: dry run, findings are recorded and reported and nothing changes. 1: Level 1 findings
     * (records and routing: stale operations, DNS records, proxy registrations, stored addresses)
     * are repaired through the repair queue. Level 2 and 3 are only ever proposed; an operator
     * approves a Level 2 proposal with POST /api/admin/repairs/:id/approve.
     */
    repairLevel: z.number().int().min(0).max(1).default(0),
    /** Pause between two reconcile passes of the elected controller. */
    intervalSeconds: z.number().positive().default(60),
    /** An unfinished operation this long past its deadline, held by no live worker, is stale. */
    staleAfterSeconds: z.number().min(0).default(60),
    /** Running containers whose address is compared with the stored one per pass (round robin over the fleet). */
    addressChecksPerPass: z.number().int().min(0).default(50),
    /** Ops alerts on queues: the oldest waiting or active job older than these raises one alert per cooldown. */
    queueAlerts: z.object({
      waitingSeconds: z.number().positive().default(300),
      activeSeconds: z.number().positive().default(1800),
      cooldownSeconds: z.number().positive().default(3600),
    }).prefault({}),
  }).prefault({}),
  metrics: z.object({
    /** Bearer token Prometheus presents to GET /metrics and the service discovery; empty: an admin access token only. */
    token: z.string().default(''),
    /** Serve /metrics to anyone on the API port (local development and tests only). */
    anonymous: z.boolean().default(false),
    /** A separate listener serving /metrics without auth, for an address only Prometheus reaches; port 0: none. */
    listener: z.object({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(0),
    }).prefault({}),
  }).prefault({}),
  retention: z.object({
    /** How often a worker prunes old rows. */
    intervalSeconds: z.number().int().positive().default(3600),
    /** Finished (succeeded, failed, stale) operations. */
    operationsDays: z.number().positive().default(30),
    /** Soft-deleted instances, with their crash reports. */
    deletedInstancesDays: z.number().positive().default(30),
    crashReportsDays: z.number().positive().default(30),
    /** Delivered, undeliverable or suppressed notifications; pending and failed ones are kept for retry. */
    notificationsDays: z.number().positive().default(14),
    /** Uptime history: hourly roll-ups and ended incidents. */
    uptimeDays: z.number().positive().default(90),
  }).prefault({}),
  notifications: z.object({
    /** Attempts per message before it is `failed` (an operator can retry it from GET /api/admin/outbox). */
    maxAttempts: z.number().int().min(1).default(12),
    /** Delay before the n-th retry: base × 2^(n-1), at most backoffMaxMs. */
    backoffBaseMs: z.number().int().positive().default(2000),
    backoffMaxMs: z.number().int().positive().default(600_000),
    /** A worker holding a message this long without finishing is presumed dead; it is tried again. */
    sendingLeaseSeconds: z.number().int().positive().default(120),
    /** How often a worker re-queues messages that are due but whose job was lost (Redis away at the time). */
    sweepIntervalSeconds: z.number().int().positive().default(30),
    /** Messages one process delivers at once. */
    concurrency: z.number().int().min(1).default(8),
  }).prefault({}),
  maintenance: z.object({
    /** Customers on the affected nodes get an announcement and an email this long before a window starts. */
    noticeHours: z.number().min(0).default(48),
    /** How often a worker looks for windows to announce or to say have begun. */
    checkIntervalSeconds: z.number().int().positive().default(60),
  }).prefault({}),
  logging: z.object({ level: z.string().default('info') }).prefault({}),
  simulators: z.object({
    /** Loopback simulators (plugins with simulate: true) keep their state under it, one folder each; '' keeps it in memory. */
    stateDir: z.string().default(''),
    /**
     * local: each process in simulate mode runs its own simulators (one process, `all`). remote: the
     * `zpack simulators` process runs them and this one uses those (several processes, one world).
     */
    mode: z.enum(['local', 'remote']).default('local'),
    /** How long a remote process waits at boot for the simulators process to announce itself. */
    waitSeconds: z.number().positive().default(30),
  }).prefault({}),
  plugins: z.record(z.string(), pluginEntry).default({}),
});

export type KernelConfig = z.infer<typeof kernelConfigSchema>;
export type PluginEntry = z.infer<typeof pluginEntry>;

/** `${NAME}` and `${NAME:-fallback}` in any string value, resolved from the environment. */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, where = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g, (_m, name: string, fallback?: string) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      throw new BootError(`config ${where || '(root)'}: environment variable ${name} is not set`, 'missing_environment');
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, `${where}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, env, where ? `${where}.${k}` : k)]));
  }
  return value;
}

export function deepMerge(base: any, over: any): any {
  if (over === undefined) return base;
  if (!isPlain(base) || !isPlain(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}
const isPlain = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

function readYaml(file: string): unknown {
  try {
    return parse(readFileSync(file, 'utf8')) ?? {};
  } catch (err) {
    throw new BootError(`config ${file}: ${(err as Error).message}`, 'invalid_config');
  }
}

/** Environment variables an operator always has; they win over files. */
function envOverrides(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const o: any = {};
  if (env.PORT) (o.server ??= {}).port = Number(env.PORT);
  if (env.HOST) (o.server ??= {}).host = env.HOST;
  if (env.DATABASE_URL) (o.database ??= {}).url = env.DATABASE_URL;
  if (env.REDIS_URL) (o.redis ??= {}).url = env.REDIS_URL;
  if (env.LOG_LEVEL) (o.logging ??= {}).level = env.LOG_LEVEL;
  if (env.ZPACK_ROLE) o.role = env.ZPACK_ROLE;
  return o;
}

export interface LoadConfigOptions {
  root: string;
  env?: NodeJS.ProcessEnv;
  /** Merged last, before env overrides (tests, CLI flags). */
  overrides?: Record<string, unknown>;
}

/** config/default.yaml ← $ZPACK_CONFIG ← overrides ← env; then validated. */
export function loadConfig({ root, env = process.env, overrides }: LoadConfigOptions): KernelConfig {
  let raw: any = readYaml(path.join(root, 'config', 'default.yaml'));
  if (env.ZPACK_CONFIG) {
    const extra = path.resolve(root, env.ZPACK_CONFIG);
    if (!existsSync(extra)) throw new BootError(`ZPACK_CONFIG names ${extra}, which does not exist`, 'config_not_found');
    raw = deepMerge(raw, readYaml(extra));
  }
  raw = deepMerge(raw, overrides ?? {});
  raw = deepMerge(raw, envOverrides(env));
  return parseKernelConfig(interpolateEnv(raw, env));
}

export function parseKernelConfig(raw: unknown): KernelConfig {
  const parsed = kernelConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BootError(`config ${issue.path.join('.') || '(root)'}: ${issue.message}`, 'invalid_config');
  }
  return parsed.data;
}
