import { z } from 'zod';

const webhookUrl = z.string().refine((s) => s === '' || /^https?:\/\/[^\s]+\/webhooks\/[^/\s]+\/[^/\s]+$/.test(s), {
  message: 'must be a Discord webhook URL (…/api/webhooks/<id>/<token>) or empty',
});

export const discordConfig = z.object({
  /** true: start a loopback Discord simulator and post to it (the webhook URLs are ignored). */
  simulate: z.boolean().default(false),
  simulator: z.object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(0),
  }).prefault({}),
  /** One webhook per operator topic; a topic without one goes to `ops`. */
  webhooks: z.object({
    ops: webhookUrl.default(''),
    support: webhookUrl.default(''),
  }).prefault({}),
  /** The name the messages are posted under. */
  username: z.string().min(1).max(80).default('zpack'),
  timeoutMs: z.number().int().positive().default(10_000),
}).superRefine((config, ctx) => {
  if (!config.simulate && !config.webhooks.ops && !config.webhooks.support) {
    ctx.addIssue({ code: 'custom', path: ['webhooks', 'ops'], message: 'at least one webhook URL is required unless simulate is true' });
  }
});
export type DiscordConfig = z.infer<typeof discordConfig>;
