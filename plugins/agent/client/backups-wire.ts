import { z } from 'zod';

/** Shapes of the agent's backup answers; a body that does not match is an agent failure. */
const backup = z.object({
  id: z.string(),
  name: z.string(),
  sizeBytes: z.number().int().min(0),
  createdAt: z.string(),
  state: z.enum(['creating', 'ready', 'failed']),
});

const restore = z.object({
  id: z.string(),
  backupId: z.string(),
  state: z.enum(['running', 'succeeded', 'failed']),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  error: z.string().nullable(),
});

export const backupsAnswer = z.object({ backups: z.array(backup) });
export const backupAnswer = z.object({ backup });
export const restoreAnswer = z.object({ restore });
export const restoreStatusAnswer = z.object({ restore: restore.nullable() });
