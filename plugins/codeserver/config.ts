import { z } from 'zod';
import { requireSecrets } from '../../kernel/api';

/** The runtimes a dev container may be created with; the agent installs them from these artifacts. */
export const RUNTIMES = ['node', 'python', 'dotnet', 'go', 'java'] as const;
export type RuntimeName = typeof RUNTIMES[number];

const SHA256 = /^[0-9a-f]{64}$/;

const catalogEntry = z.object({
  runtime: z.enum(RUNTIMES),
  version: z.string().regex(/^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$/, 'a version such as "22" or "3.12"'),
  /** Where the agent downloads the runtime (a tar.gz). */
  artifact: z.url(),
  /** Lower-case hex SHA-256 of the artifact; the agent refuses an artifact that does not match. */
  sha256: z.string(),
});
export type CatalogEntry = z.infer<typeof catalogEntry>;

/** A list, not a map: an operator's catalog replaces the default one whole instead of merging into it. */
const catalog = z.array(catalogEntry).min(1).superRefine((entries, ctx) => {
  const seen = new Set<string>();
  entries.forEach((entry, i) => {
    const name = `${entry.runtime} ${entry.version}`;
    // A catalog entry the agent cannot verify would install whatever the artifact server hands out.
    if (!SHA256.test(entry.sha256)) ctx.addIssue({ code: 'custom', path: [i, 'sha256'], message: `runtime ${name}: sha256 must be 64 lower-case hex digits` });
    if (seen.has(name)) ctx.addIssue({ code: 'custom', path: [i, 'version'], message: `runtime ${name} is listed twice` });
    seen.add(name);
  });
});
export type RuntimeCatalogConfig = z.infer<typeof catalog>;

export const codeserverConfig = z.object({
  /** Every runtime version offered; per runtime, the first listed is the default. */
  catalog,
  /** Hosted IDEs answer at dev-<vmid>.<devDomain> (a wildcard DNS name and certificate point at the API). */
  devDomain: z.string().regex(/^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'a lower-case DNS name').default('dev.zpack.local'),
  /**
   * The scheme of the hosted IDE URL handed to the portal (https behind the TLS-terminating proxy);
   * with http the IDE cookie is not marked Secure, which a browser would refuse on plain http.
   */
  publicScheme: z.enum(['https', 'http']).default('https'),
  /**
   * Port the hosted IDE URL names, when not the scheme's default (the embedded default's API port;
   * a number or a string of digits, as `${PORT}` in the YAML gives it).
   */
  publicPort: z.coerce.number().int().min(1).max(65535).optional(),
  codeServer: z.object({
    /** code-server listens here inside every dev container; the proxy reaches no other port. */
    port: z.number().int().min(1).max(65535).default(6000),
    /**
     * Where the proxy finds a container's code-server: {host} = the container address stored for
     * it, {vmid} its VMID, {port} the port above. Unused while `simulate` is true.
     */
    endpoint: z.string().default('http://{host}:{port}'),
    /** Deadline of the connection to code-server and of its first answer byte. */
    timeoutMs: z.number().int().positive().default(10_000),
  }).prefault({}),
  ide: z.object({
    /** Signs IDE tokens and cookies; a secret without default outside simulate mode. */
    secret: z.string().default(''),
    /** Lifetime of the token POST …/ide-token hands out (it is exchanged once for the cookie). */
    tokenTtlSeconds: z.number().int().min(5).max(600).default(60),
    /** Lifetime of the IDE cookie; the login session behind it ends it sooner. */
    cookieTtlSeconds: z.number().int().min(1).max(86_400).default(8 * 3600),
    /** How long one proxied request's authority check is reused; close orders drop it at once. */
    recheckMs: z.number().int().min(0).max(60_000).default(2_000),
  }).prefault({}),
  memory: z.object({
    minMb: z.number().int().min(256).default(1024),
    /** The most any dev container gets without a plan saying otherwise (code-server itself needs 1-2 GB). */
    maxMb: z.number().int().min(256).default(8192),
    defaultMb: z.number().int().min(256).default(4096),
  }).prefault({}),
  cores: z.number().int().min(1).default(2),
  diskGb: z.number().int().min(1).default(20),
  /** The dev user and workspace the agent sets up (the workspace is never touched by runtime changes). */
  devUser: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/).default('dev'),
  workspace: z.string().regex(/^\/[A-Za-z0-9._/-]+$/).default('/home/dev/workspace'),
  /** How often the leader records each running dev container's code-server state and memory for /status. */
  observeIntervalMs: z.number().int().min(1000).default(30_000),
  /** Reach code-server through the agent simulator (the embedded default and tests). */
  simulate: z.boolean().default(false),
}).superRefine((config, ctx) => {
  if (config.simulate) return;
  requireSecrets(ctx, config.ide, ['secret'], ['ide']);
});
export type CodeserverConfig = z.infer<typeof codeserverConfig>;
