import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { ConflictError, NotFoundError, nullableTimestamp, timestamp } from '../../api';
import type { ApiRouter } from '../../api';
import { audit } from '../audit';
import { returnedRows } from '../database';
import { RepairEvent } from '../entities';
import { pageQuery, paged, pageRows } from '../http/paging';

const REPAIR_STATES = ['proposed', 'queued', 'done', 'failed', 'skipped'] as const;

const repairSchema = z.object({
  id: z.uuid(),
  kind: z.string(),
  detector: z.string(),
  instanceId: z.uuid().nullable(),
  operationId: z.uuid().nullable(),
  evidence: z.record(z.string(), z.unknown()),
  action: z.string().meta({ description: 'The repair proposed' }),
  level: z.number().int().min(1).max(3).meta({ description: '1: records and routing; 2: touches a workload (needs approval); 3: destroys or recreates (never automatic)' }),
  state: z.enum(REPAIR_STATES),
  outcome: z.record(z.string(), z.unknown()).nullable().meta({ description: 'Why it was skipped, or what the repair answered' }),
  fencingToken: z.number().int().meta({ description: 'The controller term that last wrote it' }),
  sightings: z.number().int(),
  attempts: z.number().int(),
  lastSeenAt: timestamp(),
  approvedBy: z.uuid().nullable(),
  approvedAt: nullableTimestamp(),
  resolvedAt: nullableTimestamp(),
  createdAt: timestamp(),
  updatedAt: timestamp(),
});

export function repairView(e: RepairEvent): z.input<typeof repairSchema> {
  return {
    id: e.id, kind: e.kind, detector: e.detector, instanceId: e.instanceId, operationId: e.operationId, evidence: e.evidence, action: e.action,
    level: e.level, state: e.state, outcome: e.outcome, fencingToken: Number(e.fencingToken), sightings: e.sightings, attempts: e.attempts,
    lastSeenAt: e.lastSeenAt, approvedBy: e.approvedBy, approvedAt: e.approvedAt, resolvedAt: e.resolvedAt, createdAt: e.createdAt, updatedAt: e.updatedAt,
  };
}

interface Deps {
  ds: DataSource;
  /** Hands an approved event to the repair worker. */
  enqueue(event: { id: string; attempts: number }): Promise<void>;
}

export function repairRoutes(r: ApiRouter, { ds, enqueue }: Deps): void {
  r.route({
    method: 'get', path: '/api/admin/repairs', summary: 'The controller\'s findings and repairs, newest first', auth: 'admin', tags: ['admin'],
    operationId: 'adminListRepairs', responses: { 200: paged({ repairs: z.array(repairSchema) }) },
    query: pageQuery({
      state: z.enum(REPAIR_STATES).optional().meta({ description: 'Only events in this state' }),
      kind: z.string().max(100).optional().meta({ description: 'Only events of this drift kind' }),
    }),
    handler: async ({ query }) => {
      const qb = ds.getRepository(RepairEvent).createQueryBuilder('e').where('TRUE');
      if (query.state) qb.andWhere('e.state = :state', { state: query.state });
      if (query.kind) qb.andWhere('e.kind = :kind', { kind: query.kind });
      const page = await pageRows(qb, query, { column: 'created_at', direction: 'DESC' });
      return { body: { repairs: page.items.map(repairView), nextCursor: page.nextCursor } };
    },
  });

  r.route({
    method: 'post', path: '/api/admin/repairs/:id/approve', summary: 'Approve a Level 2 proposal: the repair worker runs it', auth: 'admin', tags: ['admin'],
    description: 'Only an unresolved Level 2 event that is `proposed` (or `failed`, to try again) can be approved; Level 3 repairs are never run by zpack. The approval is audited.',
    operationId: 'adminApproveRepair', responses: { 202: z.object({ repair: repairSchema }) }, errors: [409],
    params: z.object({ id: z.uuid() }),
    handler: async ({ params, account }) => {
      const repo = ds.getRepository(RepairEvent);
      const event = await repo.findOneBy({ id: params.id });
      if (!event) throw new NotFoundError('Repair');
      if (event.level !== 2) throw new ConflictError(`A Level ${event.level} repair cannot be approved: only Level 2 proposals can`, { level: event.level });
      const [approved] = returnedRows<{ id: string }>(await ds.query(
        `UPDATE repair_event SET state = 'queued', approved_by = $2, approved_at = now(), attempts = attempts + 1, outcome = NULL, updated_at = now()
          WHERE id = $1 AND level = 2 AND state IN ('proposed','failed') AND resolved_at IS NULL RETURNING id`, [event.id, account.id]));
      if (!approved) throw new ConflictError(`The repair is ${event.resolvedAt ? 'resolved' : event.state}: nothing to approve`, { state: event.state, resolved: !!event.resolvedAt });
      await audit(ds.manager, account.id, 'admin.repair.approve', event.id, { kind: event.kind, action: event.action, instanceId: event.instanceId });
      const fresh = await repo.findOneByOrFail({ id: event.id });
      await enqueue(fresh);
      return { status: 202, body: { repair: repairView(fresh) } };
    },
  });
}
