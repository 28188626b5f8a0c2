import { z } from 'zod';
import { requireSecrets } from '../../kernel/api';

export const emailConfig = z.object({
  from: z.string().min(3),
  transport: z.enum(['outbox', 'smtp']).default('outbox'),
  /** Where the outbox transport writes .eml files. */
  outboxDir: z.string().default('./data/outbox'),
  smtp: z.object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(1).max(65535).default(587),
    secure: z.boolean().default(false),
    user: z.string().default(''),
    password: z.string().default(''),
    timeoutMs: z.number().int().positive().default(10_000),
    /** Connections kept open and reused for many messages (0: a new connection per message). */
    maxConnections: z.number().int().min(0).max(50).default(5),
  }).prefault({}),
}).superRefine((config, ctx) => {
  // A relay without authentication is allowed; a user without its password is a secret left empty.
  if (config.transport === 'smtp' && config.smtp.user) requireSecrets(ctx, config.smtp, ['password'], ['smtp']);
});
export type EmailConfig = z.infer<typeof emailConfig>;
