import { z } from 'zod';
import { simulatorListener } from '../../kernel/api';

export const modrinthConfig = z.object({
  /** The Modrinth v2 API (staging: https://staging-api.modrinth.com/v2). Ignored when `simulate` is true. */
  baseUrl: z.url().default('https://api.modrinth.com/v2'),
  /** Modrinth asks every client to name itself (project and contact). */
  userAgent: z.string().min(1).default('zpack/0.1 (control plane; operator@example.com)'),
  /** Deadline of each HTTP request to the catalog. */
  timeoutMs: z.number().int().positive().default(10_000),
  /** Largest file the control plane fetches itself (a modpack's .mrpack index). */
  maxFileBytes: z.number().int().positive().default(64 * 1024 * 1024),
  cache: z.object({
    /** Answers younger than this are served from Redis without asking Modrinth. */
    freshSeconds: z.number().int().min(0).default(300),
    /** After that they are revalidated with If-None-Match (a 304 keeps them) and dropped after this. */
    keepSeconds: z.number().int().min(1).default(86_400),
    /** Redis keys are `<keyPrefix>:<sha1 of the URL>`; empty: `<redis.prefix>:modrinth`, so each installation has its own. */
    keyPrefix: z.string().default(''),
  }).prefault({}),
  /** Retry-After sent to our own clients when Modrinth is down without saying for how long. */
  unavailableRetrySeconds: z.number().int().min(1).default(30),
  /** Serve the catalog from an in-process loopback simulator instead of baseUrl. */
  simulate: z.boolean().default(false),
  simulator: simulatorListener().prefault({}),
}).superRefine((c, ctx) => {
  if (c.cache.freshSeconds > c.cache.keepSeconds) ctx.addIssue({ code: 'custom', path: ['cache', 'freshSeconds'], message: 'must not exceed cache.keepSeconds' });
});
export type ModrinthConfig = z.infer<typeof modrinthConfig>;
