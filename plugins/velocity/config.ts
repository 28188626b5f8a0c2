import { z } from 'zod';
import { requireSecrets, simulatorListener } from '../../kernel/api';

const blank = z.literal('');

export const velocityConfig = z.object({
  /** Base of the Velocity bridge plugin's HTTP API, e.g. http://velocity:8577; ignored when `simulate` is true. */
  bridgeUrl: z.union([blank, z.url()]).default(''),
  /** Bearer token zpack sends to the bridge. */
  bridgeToken: z.string().default(''),
  /** Bearer token the proxy presents to /api/velocity/rehydrate and /events; empty refuses every call. */
  proxyToken: z.string().default(''),
  /** Deadline of each call to the bridge. */
  timeoutMs: z.number().int().positive().default(5_000),
  /** Extra attempts on 5xx, timeouts and dropped connections; every bridge call is idempotent. */
  retries: z.number().int().min(0).max(10).default(2),
  /** Registrations in flight at once during a resync. */
  resyncConcurrency: z.number().int().min(1).max(256).default(32),
  /** Serve the bridge API from an in-process loopback simulator instead of bridgeUrl. */
  simulate: z.boolean().default(false),
  simulator: simulatorListener().extend({
    /** The simulated proxy's Minecraft port, where players connect; 0 picks a free one. */
    playerPort: z.number().int().min(0).max(65535).default(0),
  }).prefault({}),
}).superRefine((config, ctx) => {
  if (config.simulate) return;
  if (!config.bridgeUrl) ctx.addIssue({ code: 'custom', path: ['bridgeUrl'], message: 'required unless simulate is true' });
  requireSecrets(ctx, config, ['bridgeToken', 'proxyToken']);
});
export type VelocityConfig = z.infer<typeof velocityConfig>;
