import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { BillingGate, ConflictError, IdempotencyKeyReusedError, InstanceAgent, InvalidRequestError, LockedError, streamed } from '../../api';
import type { ApiRouter, BackupView, InstanceView, PortRef } from '../../api';
import { BackupRecord } from '../entities';
import { fromAgentError } from '../files/agent-failures';
import { relay } from '../files/relay';
import { idempotencyKey, requestHash } from '../operations/request';
import { pageList, pageQuery, paged, since } from '../http/paging';
import { backupSchema as backup, restoreSchema } from './schemas';

export interface BackupDeps {
  ds: DataSource;
  agent: () => InstanceAgent;
  optional<T>(port: PortRef<T>): T | undefined;
  /** Backups kept per server when the plan says nothing. */
  defaultBackupsMax: number;
}

const id = z.uuid();
/** A name the agent can use as a file name: never '.', '..' or any other run of dots alone. */
const backupId = z.string().min(1).max(100).regex(/^[A-Za-z0-9._-]+$/).refine((v) => !/^\.+$/.test(v), 'may not be made only of dots');

/**
 * World backups, always answered in API.md's canonical shapes whatever the agent version. The agent
 * holds the archives; the kernel keeps which are locked and which Idempotency-Key made which.
 */
export function backupRoutes(r: ApiRouter, deps: BackupDeps): void {
  // An unknown backup (agent 404) or one not ready (409) becomes our own code, as on the file routes.
  const call = <T>(answer: Promise<T>): Promise<T> => answer.catch((err: unknown) => { throw fromAgentError(err); });
  const base = '/api/servers/:id/backups';
  const records = () => deps.ds.getRepository(BackupRecord);
  const backups = new BackupRotation(deps);
  const lockedIds = (instanceId: string) => backups.lockedIds(instanceId);

  r.route({
    method: 'get', path: base, summary: 'Backups of a server', auth: 'user', tags: ['backups'],
    operationId: 'listBackups', errors: [409, 502],
    params: z.object({ id }), responses: { 200: paged({ backups: z.array(backup) }) },
    query: pageQuery({ since: since.optional().meta({ description: 'Only backups made at or after this instant' }) }),
    server: { permission: 'backups' },
    handler: async ({ query, server }) => {
      const [all, locked] = await Promise.all([call(deps.agent().listBackups(server)), lockedIds(server.id)]);
      const kept = query.since ? all.filter((b) => Date.parse(b.createdAt) >= query.since!.getTime()) : all;
      const page = pageList(kept, query, (b) => ({ at: b.createdAt, id: b.id }), 'DESC');
      return { body: { backups: page.items.map((b) => ({ ...b, locked: locked.has(b.id) })), nextCursor: page.nextCursor } };
    },
  });

  r.route({
    method: 'post', path: base, summary: 'Start a backup (202); at the plan\'s limit the oldest unlocked one is rotated out', auth: 'user', tags: ['backups'],
    description: 'With `Idempotency-Key`, a retried request answers the backup the first one started (another body with the same key: 422).',
    operationId: 'createBackup', responses: { 202: z.object({ backup }) }, errors: [402, 409, 422, 423, 502],
    headers: z.object({ 'Idempotency-Key': idempotencyKey.optional().meta({ description: 'Makes a retried create answer the first backup instead of a second one' }) }),
    params: z.object({ id }), body: z.object({ name: z.string().trim().min(1).max(80).optional() }).optional(),
    server: { permission: 'backups', mutation: 'backup', action: 'backup.create', activity: 'backup.create' },
    handler: async ({ body, koa, server }) => {
      const header = koa.get('idempotency-key');
      const key = header ? idempotencyKey.safeParse(header) : undefined;
      if (key && !key.success) {
        throw new InvalidRequestError(`Idempotency-Key header is invalid: ${key.error.issues[0].message}`, { fields: [{ path: 'header.Idempotency-Key', message: key.error.issues[0].message }] });
      }
      const name = body?.name ?? `backup-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      return { status: 202, body: { backup: await backups.create(server, name, key?.data, requestHash(body ?? {})) } };
    },
  });

  r.route({
    method: 'post', path: `${base}/:backupId/restore`, summary: 'Restore a backup (202; poll GET …/backups/restore)', auth: 'user', tags: ['backups'],
    operationId: 'restoreBackup', errors: [402, 409, 502],
    responses: { 202: z.object({ restore: restoreSchema.pick({ id: true, state: true, backupId: true }) }) },
    params: z.object({ id, backupId }),
    server: { permission: 'backups', mutation: true, action: 'backup.restore', activity: 'backup.restore' },
    handler: async ({ params, server: instance }) => {
      const restore = await call(deps.agent().restoreBackup(instance, params.backupId));
      return { status: 202, body: { restore: { id: restore.id, state: restore.state, backupId: restore.backupId } } };
    },
  });

  r.route({
    method: 'get', path: `${base}/restore`, summary: 'The latest restore and its state', auth: 'user', tags: ['backups'],
    operationId: 'getRestoreStatus', responses: { 200: z.object({ restore: restoreSchema.nullable() }) }, errors: [409, 502],
    params: z.object({ id }), server: { permission: 'backups' },
    handler: async ({ server }) => ({ body: { restore: await call(deps.agent().restoreStatus(server)) } }),
  });

  r.route({
    method: 'get', path: `${base}/:backupId/download`, summary: 'Download a backup archive (streamed)', auth: 'user', tags: ['backups'],
    operationId: 'downloadBackup', responses: { 200: streamed('application/gzip', 'The backup\'s .tar.gz, with Content-Disposition') }, errors: [409, 502],
    responseHeaders: { 'Content-Disposition': 'attachment, with the archive\'s name' },
    params: z.object({ id, backupId }), server: { permission: 'backups', activity: 'backup.download' },
    handler: async ({ params, koa, server }) => {
      const answer = await deps.agent().request(server, { method: 'GET', path: `/backups/${encodeURIComponent(params.backupId)}/download` })
        .catch((err: unknown) => { throw fromAgentError(err); });
      await relay(koa, answer);
    },
  });

  r.route({
    method: 'post', path: `${base}/:backupId/lock`, summary: 'Lock or unlock a backup (a locked one is neither deleted nor rotated out)', auth: 'user', tags: ['backups'],
    operationId: 'lockBackup', responses: { 200: z.object({ backup }) }, errors: [402, 409, 502],
    params: z.object({ id, backupId }), body: z.object({ locked: z.boolean() }).strict(),
    server: { permission: 'backups', mutation: true, action: 'backup.lock', activity: 'backup.lock' },
    handler: async ({ params, body, server }) => {
      const found = (await call(deps.agent().listBackups(server))).find((b) => b.id === params.backupId);
      if (!found) throw new ConflictError('No such backup on this server', { backupId: params.backupId });
      await records().upsert({ instanceId: server.id, backupId: params.backupId, locked: body.locked }, { conflictPaths: ['instanceId', 'backupId'] });
      return { body: { backup: { ...found, locked: body.locked } } };
    },
  });

  r.route({
    method: 'delete', path: `${base}/:backupId`, summary: 'Delete a backup (423 while locked)', auth: 'user', tags: ['backups'],
    operationId: 'deleteBackup', responses: { 204: null }, errors: [402, 409, 423, 502],
    params: z.object({ id, backupId }),
    server: { permission: 'backups', mutation: true, action: 'backup.delete', activity: 'backup.delete' },
    handler: async ({ params, server: instance }) => {
      if ((await lockedIds(instance.id)).has(params.backupId)) throw new LockedError('The backup is locked; unlock it first', { backupId: params.backupId });
      await call(deps.agent().deleteBackup(instance, params.backupId));
      await records().delete({ instanceId: instance.id, backupId: params.backupId });
      return { status: 204 };
    },
  });
}

/** Creating a backup within the plan's limit, once per Idempotency-Key. */
export class BackupRotation {
  constructor(private readonly deps: BackupDeps) {}

  private call<T>(answer: Promise<T>): Promise<T> {
    return answer.catch((err: unknown) => { throw fromAgentError(err); });
  }

  async lockedIds(instanceId: string): Promise<Set<string>> {
    const rows = await this.deps.ds.getRepository(BackupRecord).find({ select: { backupId: true }, where: { instanceId, locked: true } });
    return new Set(rows.map((b) => b.backupId));
  }

  async limitOf(instance: InstanceView): Promise<number> {
    const plan = await this.deps.optional(BillingGate)?.entitlementsOf(instance.ownerId);
    return plan?.backupsMax ?? this.deps.defaultBackupsMax;
  }

  /** Serialised per server (an advisory lock), so two creates cannot both rotate or both use one key. */
  async create(instance: InstanceView, name: string, key?: string, hash?: string): Promise<BackupView> {
    return this.deps.ds.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`zpack.backups:${instance.id}`]);
      const repo = m.getRepository(BackupRecord);
      if (key) {
        const prior = await repo.findOneBy({ instanceId: instance.id, idempotencyKey: key });
        if (prior) {
          if (prior.requestHash !== hash) throw new IdempotencyKeyReusedError();
          return prior.created as unknown as BackupView;
        }
      }
      await this.rotate(instance);
      const made = await this.call(this.deps.agent().createBackup(instance, name));
      await repo.upsert({ instanceId: instance.id, backupId: made.id, idempotencyKey: key ?? null, requestHash: key ? hash ?? null : null, created: { ...made } },
        { conflictPaths: ['instanceId', 'backupId'] });
      return made;
    });
  }

  /** Makes room for one more: the oldest unlocked backups go; with every one locked the create is refused (409). */
  private async rotate(instance: InstanceView): Promise<void> {
    const max = await this.limitOf(instance);
    const [all, locked] = await Promise.all([this.call(this.deps.agent().listBackups(instance)), this.lockedIds(instance.id)]);
    const excess = all.length - max + 1;
    if (excess <= 0) return;
    const candidates = all.filter((b) => !locked.has(b.id) && b.state !== 'creating').sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
    if (candidates.length < excess) throw new ConflictError(`The plan keeps ${max} backup(s) and the others are locked or still being made; unlock or delete one first`, { backupsMax: max });
    for (const b of candidates.slice(0, excess)) {
      await this.call(this.deps.agent().deleteBackup(instance, b.id));
      await this.deps.ds.getRepository(BackupRecord).delete({ instanceId: instance.id, backupId: b.id });
    }
  }
}
