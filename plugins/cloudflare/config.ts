import { z } from 'zod';
import { requireSecrets, simulatorListener } from '../../kernel/api';

/** A DNS name without a trailing dot: letters, digits and dashes in dot-separated labels. */
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;
const hostname = z.string().trim().toLowerCase().regex(HOSTNAME, 'must be a DNS name such as play.example.com');

export const cloudflareConfig = z.object({
  /** API token with Zone → DNS → Edit on the zone; ignored when `simulate` is true and left empty. */
  apiToken: z.string().default(''),
  /** The Cloudflare zone id (32 hex digits in production) that holds `zoneName`. */
  zoneId: z.string().default(''),
  /** Records go under it: `_minecraft._tcp.mc-<vmid>.<zoneName>`. The zone itself or a subdomain of it. */
  zoneName: hostname,
  /** The Velocity proxy's public hostname: players connect through the proxy, never to a container. */
  target: hostname,
  /** The Velocity proxy's player port. */
  port: z.number().int().min(1).max(65535).default(25565),
  /** Seconds; 1 = automatic. */
  ttl: z.number().int().refine((v) => v === 1 || (v >= 30 && v <= 86_400), 'must be 1 (automatic) or 30..86400').default(1),
  baseUrl: z.url().default('https://api.cloudflare.com/client/v4'),
  /** Deadline of each HTTP request. */
  timeoutMs: z.number().int().positive().default(10_000),
  /** Deadline of one call including its retries and Retry-After waits. */
  deadlineMs: z.number().int().positive().default(30_000),
  /** Extra attempts on 429 (any call) and on 5xx or network failures (lookups, updates, deletes, and a create after a fresh lookup). */
  maxRetries: z.number().int().min(0).max(10).default(3),
  /** Records per page when listing the zone (the controller lists it every pass); the API allows up to 5,000,000. */
  listPageSize: z.number().int().min(1).max(5_000_000).default(5_000),
  /** Serve the Cloudflare API from an in-process loopback simulator instead of baseUrl. */
  simulate: z.boolean().default(false),
  simulator: simulatorListener().prefault({}),
}).superRefine((config, ctx) => {
  if (config.timeoutMs > config.deadlineMs) {
    ctx.addIssue({ code: 'custom', path: ['timeoutMs'], message: 'must not exceed deadlineMs' });
  }
  if (config.simulate) return;
  requireSecrets(ctx, config, ['apiToken']);
  if (!config.zoneId) ctx.addIssue({ code: 'custom', path: ['zoneId'], message: 'required unless simulate is true' });
});
export type CloudflareConfig = z.infer<typeof cloudflareConfig>;
