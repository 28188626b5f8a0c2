import { createReadStream } from 'node:fs';
import type { SimRoute } from './routes';

const NAME_LIMIT = 100;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Local backups of the server folder; creation and restore run in the background and are polled. */
export const backupRoutes: readonly SimRoute[] = [
  {
    method: 'GET',
    path: '/backups',
    handle: ({ container }) => ({ status: 200, body: { backups: container.backups.list() } }),
  },
  {
    method: 'POST',
    path: '/backups',
    handle({ container, body }) {
      const name = isObject(body) ? body.name : undefined;
      if (name !== undefined && (typeof name !== 'string' || name.trim() === '' || name.length > NAME_LIMIT)) {
        return { status: 400, body: { error: 'invalid_name' } };
      }
      // Archiving a folder that a restore is replacing would capture half of each.
      if (container.backups.restoring) return { status: 409, body: { error: 'restore_running' } };
      const backup = container.backups.create(name?.trim() ?? `backup-${new Date().toISOString()}`);
      return { status: 202, body: { backup } };
    },
  },
  {
    method: 'GET',
    path: '/backups/:id/download',
    handle({ container, params }) {
      const backup = container.backups.get(params.id);
      if (!backup) return { status: 404, body: { error: 'not_found', backupId: params.id } };
      if (backup.state !== 'ready') return { status: 409, body: { error: 'backup_not_ready', state: backup.state } };
      return {
        status: 200,
        headers: {
          'content-type': 'application/gzip', 'content-length': String(backup.sizeBytes),
          'content-disposition': `attachment; filename="${backup.id}.tar.gz"`,
        },
        stream: createReadStream(container.backups.archiveOf(backup.id)),
      };
    },
  },
  {
    method: 'GET',
    path: '/backups/restore',
    handle: ({ container }) => ({ status: 200, body: { restore: container.backups.latestRestore() } }),
  },
  {
    method: 'POST',
    path: '/backups/:id/restore',
    handle({ container, params }) {
      const backup = container.backups.get(params.id);
      if (!backup) return { status: 404, body: { error: 'not_found', backupId: params.id } };
      if (backup.state !== 'ready') return { status: 409, body: { error: 'backup_not_ready', state: backup.state } };
      if (container.backups.restoring) return { status: 409, body: { error: 'restore_running' } };
      return { status: 202, body: { restore: container.backups.restore(backup.id) } };
    },
  },
  {
    method: 'DELETE',
    path: '/backups/:id',
    async handle({ container, params }) {
      const backup = container.backups.get(params.id);
      if (!backup) return { status: 404, body: { error: 'not_found', backupId: params.id } };
      if (container.backups.restoring?.backupId === backup.id) return { status: 409, body: { error: 'restore_running' } };
      if (backup.state === 'creating') return { status: 409, body: { error: 'backup_in_progress' } };
      await container.backups.delete(backup.id);
      return { status: 204, body: '' };
    },
  },
];
