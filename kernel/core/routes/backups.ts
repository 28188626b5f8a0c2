import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { InstanceAgent } from '../../api';
import type { ApiRouter, EnforcementState } from '../../api';
import { instanceView } from '../entities';
import { guardMutation } from '../billing-state';
import { fromAgentError } from '../files/agent-failures';
import type { InstanceService } from '../operations/instances';
import { pageList, pageQuery, paged, since } from '../http/paging';
import { backupSchema as backup, restoreSchema } from './schemas';

interface Deps {
  ds: DataSource;
  instances: InstanceService;
  agent: () => InstanceAgent;
  billingState(accountId: string): Promise<EnforcementState>;
}

const id = z.uuid();
/** A name the agent can use as a file name: never '.', '..' or any other run of dots alone. */
const backupId = z.string().min(1).max(100).regex(/^[A-Za-z0-9._-]+$/).refine((v) => !/^\.+$/.test(v), 'may not be made only of dots');

/** World backups, always answered in API.md's canonical shapes whatever the agent version. */
export function backupRoutes(r: ApiRouter, deps: Deps): void {
  // An unknown backup (agent 404) or one not ready (409) becomes our own code, as on the file routes.
  const call = <T>(answer: Promise<T>): Promise<T> => answer.catch((err: unknown) => { throw fromAgentError(err); });
  const base = '/api/servers/:id/backups';
  const view = async (account: Parameters<InstanceService['owned']>[0], instanceId: string) =>
    instanceView(await deps.instances.owned(account, instanceId));

  r.route({
    method: 'get', path: base, summary: 'Backups of a server', auth: 'user', tags: ['backups'],
    operationId: 'listBackups', errors: [409, 502],
    params: z.object({ id }), responses: { 200: paged({ backups: z.array(backup) }) },
    query: pageQuery({ since: since.optional().meta({ description: 'Only backups made at or after this instant' }) }),
    handler: async ({ params, query, account }) => {
      const all = await call(deps.agent().listBackups(await view(account, params.id)));
      const kept = query.since ? all.filter((b) => Date.parse(b.createdAt) >= query.since!.getTime()) : all;
      const page = pageList(kept, query, (b) => ({ at: b.createdAt, id: b.id }), 'DESC');
      return { body: { backups: page.items, nextCursor: page.nextCursor } };
    },
  });

  r.route({
    method: 'post', path: base, summary: 'Start a backup (202)', auth: 'user', tags: ['backups'],
    operationId: 'createBackup', responses: { 202: z.object({ backup }) }, errors: [402, 409, 423, 502],
    params: z.object({ id }), body: z.object({ name: z.string().trim().min(1).max(80).optional() }).optional(),
    handler: async ({ params, body, account }) => {
      const instance = await view(account, params.id);
      await guardMutation(deps.ds, account.id, await deps.billingState(account.id), 'backup', 'backup.create', instance.id);
      const name = body?.name ?? `backup-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      return { status: 202, body: { backup: await call(deps.agent().createBackup(instance, name)) } };
    },
  });

  r.route({
    method: 'post', path: `${base}/:backupId/restore`, summary: 'Restore a backup (202; poll GET …/backups/restore)', auth: 'user', tags: ['backups'],
    operationId: 'restoreBackup', errors: [402, 409, 502],
    responses: { 202: z.object({ restore: restoreSchema.pick({ id: true, state: true, backupId: true }) }) },
    params: z.object({ id, backupId }),
    handler: async ({ params, account }) => {
      const instance = await view(account, params.id);
      await guardMutation(deps.ds, account.id, await deps.billingState(account.id), 'mutation', 'backup.restore', instance.id);
      const restore = await call(deps.agent().restoreBackup(instance, params.backupId));
      return { status: 202, body: { restore: { id: restore.id, state: restore.state, backupId: restore.backupId } } };
    },
  });

  r.route({
    method: 'get', path: `${base}/restore`, summary: 'The latest restore and its state', auth: 'user', tags: ['backups'],
    operationId: 'getRestoreStatus', responses: { 200: z.object({ restore: restoreSchema.nullable() }) }, errors: [409, 502],
    params: z.object({ id }),
    handler: async ({ params, account }) => ({ body: { restore: await call(deps.agent().restoreStatus(await view(account, params.id))) } }),
  });

  r.route({
    method: 'delete', path: `${base}/:backupId`, summary: 'Delete a backup', auth: 'user', tags: ['backups'],
    operationId: 'deleteBackup', responses: { 204: null }, errors: [402, 409, 502],
    params: z.object({ id, backupId }),
    handler: async ({ params, account }) => {
      const instance = await view(account, params.id);
      await guardMutation(deps.ds, account.id, await deps.billingState(account.id), 'mutation', 'backup.delete', instance.id);
      await call(deps.agent().deleteBackup(instance, params.backupId));
      return { status: 204 };
    },
  });
}
