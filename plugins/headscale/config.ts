import { z } from 'zod';
import { requireSecrets } from '../../kernel/api';

export const headscaleConfig = z.object({
  /** Headscale's REST API, e.g. https://headscale.example.com; ignored when `simulate` is true. */
  baseUrl: z.union([z.literal(''), z.url()]).default(''),
  /** An API key (`headscale apikeys create`). */
  apiKey: z.string().default(''),
  /** The Headscale user the keys are created under. */
  user: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/).default('zpack'),
  /** How long a pre-auth key may wait to be used; it is single use. */
  keyTtlSeconds: z.number().int().min(60).max(7 * 86_400).default(3600),
  /** The tailnet's MagicDNS suffix, for the SSH config snippet (dev-<vmid>.<tailnetDomain>). */
  tailnetDomain: z.string().regex(/^([a-z0-9-]+\.)+[a-z]{2,63}$/).default('tail.zpack.local'),
  /** The login server clients join (`tailscale up --login-server …`); defaults to baseUrl. */
  loginServer: z.union([z.literal(''), z.url()]).default(''),
  /** The dev containers' login user. */
  sshUser: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/).default('dev'),
  timeoutMs: z.number().int().positive().default(5_000),
  /** Serve the Headscale API from an in-process loopback simulator. */
  simulate: z.boolean().default(false),
  simulator: z.object({ host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(0) }).prefault({}),
}).superRefine((config, ctx) => {
  if (config.simulate) return;
  if (!config.baseUrl) ctx.addIssue({ code: 'custom', path: ['baseUrl'], message: 'required unless simulate is true' });
  requireSecrets(ctx, config, ['apiKey']);
});
export type HeadscaleConfig = z.infer<typeof headscaleConfig>;
