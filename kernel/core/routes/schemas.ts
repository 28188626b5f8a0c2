import { z } from 'zod';
import { nullableTimestamp, timestamp } from '../../api';

/**
 * The shapes the kernel's routes answer, named as components of the document so a generated
 * client has one type per resource. Handlers are type-checked against them (RouteSpec.responses).
 */
export const userSchema = z.object({
  id: z.uuid(), email: z.string(), role: z.enum(['user', 'admin']), billingExempt: z.boolean(),
}).meta({ id: 'User' });

export const tokenPairSchema = z.object({
  accessToken: z.string(), refreshToken: z.string(), expiresIn: z.number().meta({ description: 'Seconds the access token lives' }), user: userSchema,
}).meta({ id: 'TokenPair' });

export const enforcementState = z.enum(['active', 'warning', 'final_warning', 'suspended']).meta({ id: 'EnforcementState' });

export { operationSchema } from '../../api';

/** An object the document leaves open (internal bookkeeping shown to admins). */
export const openObject = (description: string) =>
  z.custom<object>((v) => typeof v === 'object' && v !== null).meta({ type: 'object', description });

export const portBinding = z.object({ name: z.string(), port: z.number().int(), protocol: z.enum(['tcp', 'udp']) });

export const serverSchema = z.object({
  id: z.uuid(),
  kind: z.string().meta({ description: 'game, dev … (one per enabled instance type)' }),
  type: z.string(),
  name: z.string(),
  state: z.enum(['provisioning', 'running', 'stopped', 'crashed', 'error', 'deleting', 'deleted']),
  vmid: z.number().int().nullable(),
  node: z.string().nullable(),
  ports: z.array(portBinding),
  connect: z.object({ host: z.string(), port: z.number().int() }).nullable()
    .meta({ description: 'Where players join (the edge provider\'s published name and port); null until published, or without an edge provider' }),
  createdAt: timestamp(),
  updatedAt: timestamp(),
}).meta({ id: 'Server' });

export const crashSchema = z.object({
  id: z.uuid(),
  crashedAt: timestamp(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  uptimeSeconds: z.number(),
  classification: z.string(),
  culprit: z.object({ name: z.string(), missing: z.string().optional() }).nullable().optional()
    .meta({ description: 'What the log tail blames (a mod or plugin), when the server type can tell; its mod list offers the fix' }),
  logTail: z.array(z.string()),
  supervisorAction: z.string(),
  restartAt: nullableTimestamp(),
}).meta({ id: 'CrashReport' });

export const backupSchema = z.object({
  id: z.string(), name: z.string(), sizeBytes: z.number(), createdAt: z.string(), state: z.enum(['creating', 'ready', 'failed']),
  locked: z.boolean().optional().meta({ description: 'A locked backup is neither deleted nor rotated out' }),
}).meta({ id: 'Backup' });

export const restoreSchema = z.object({
  id: z.string(), backupId: z.string(), state: z.enum(['running', 'succeeded', 'failed']),
  startedAt: z.string(), finishedAt: z.string().nullable(), error: z.string().nullable(),
}).meta({ id: 'Restore' });

/** The agent's answers on the file routes, passed on unchanged. */
export const fileEntrySchema = z.object({
  name: z.string(), path: z.string(), type: z.enum(['file', 'dir']), sizeBytes: z.number(), modifiedAt: z.string(),
}).meta({ id: 'FileEntry' });

export const fileListingSchema = z.object({ path: z.string(), entries: z.array(fileEntrySchema) }).meta({ id: 'FileListing' });

export const fileContentSchema = z.object({
  path: z.string(), content: z.string(), sizeBytes: z.number(), modifiedAt: z.string(),
}).meta({ id: 'FileContent' });

export const fileWrittenSchema = z.object({
  path: z.string(), sizeBytes: z.number(), modifiedAt: z.string().optional(),
}).meta({ id: 'FileWritten' });
