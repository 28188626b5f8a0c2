import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from 'pino';
import { findingSubject } from '../../api';
import type { DriftDetector, DriftFinding, FencingToken, InstanceView } from '../../api';
import type { KernelInstanceDirectory } from '../operations/directory';
import type { InstanceReadiness } from '../operations/readiness';
import type { RepairState } from '../entities';
import { returnedRows } from '../database';
import type { Hold, RepairGuards } from './guards';
import type { ControllerMetrics } from './metrics';

/** One finding of a pass and what the pass made of it. */
export interface PassFinding extends DriftFinding {
  subject: string;
  detector: string;
  state: RepairState;
  hold: Hold | null;
  /** The stored event (absent in a dry run that records nothing). */
  eventId?: string;
  /** First seen in this pass. */
  fresh: boolean;
}

export interface PassReport {
  findings: PassFinding[];
  detectors: Array<{ name: string; ok: boolean; error?: string; findings: number }>;
  /** Events handed to the repair worker: `repair-<id>-<attempt>` jobs. */
  queued: Array<{ id: string; attempts: number }>;
  resolved: number;
  instances: number;
  durationMs: number;
}

interface Unresolved {
  id: string;
  subject: string;
  kind: string;
  detector: string;
  state: RepairState;
  level: number;
  instance_id: string | null;
  attempts: number;
}

export interface ReconcilerDeps {
  ds: DataSource;
  directory: KernelInstanceDirectory;
  readiness: InstanceReadiness;
  detectors: () => DriftDetector[];
  guards: RepairGuards;
  repairLevel: () => number;
  metrics: ControllerMetrics;
  logger: Logger;
}

/**
 * One level-triggered pass: read the database once, let every detector compare it with its
 * remote system, and record the findings as repair events in one fenced transaction (a constant
 * number of statements whatever the fleet's size). Nothing is repaired here: events at or below
 * the configured level become `queued` for the repair worker.
 */
export class Reconciler {
  constructor(private readonly deps: ReconcilerDeps) {}

  /** `fence` absent: a dry run that records nothing (zpack controller --once --dry-run). */
  async pass(signal: AbortSignal, fence?: FencingToken): Promise<PassReport> {
    const started = Date.now();
    const instances = await this.deps.directory.list();
    const observed = await this.deps.readiness.observed(instances.map((i) => i.id));
    const ready = new Set(instances.filter((_, n) => observed[n] === 'ready').map((i) => i.id));
    const readinessUnknown = new Set(instances.filter((_, n) => observed[n] === undefined).map((i) => i.id));
    // A dry run is a one-off check: no later pass would look at the share it left out.
    const scan = { instances, ready, readinessUnknown, now: new Date(), signal, everyInstance: !fence };
    const detectors = this.deps.detectors();
    const outcomes = await Promise.allSettled(detectors.map((d) => d.detect(scan)));
    const found: Array<DriftFinding & { subject: string; detector: string }> = [];
    const seen = new Set<string>();
    const report: PassReport['detectors'] = [];
    /** Kinds each successful detector covers, and the instances it examined when it looked at only some. */
    const coverage: Array<{ kinds: readonly string[]; examined?: Set<string> }> = [];
    outcomes.forEach((o, n) => {
      const d = detectors[n];
      if (o.status === 'rejected') {
        this.deps.logger.warn({ err: o.reason, detector: d.name }, 'drift detector failed; its open findings stay as they are');
        report.push({ name: d.name, ok: false, error: (o.reason as Error)?.message ?? String(o.reason), findings: 0 });
        return;
      }
      report.push({ name: d.name, ok: true, findings: o.value.findings.length });
      coverage.push({ kinds: d.kinds, examined: o.value.examined ? new Set(o.value.examined) : undefined });
      for (const f of o.value.findings) {
        const subject = findingSubject(f);
        if (seen.has(subject)) continue;
        seen.add(subject);
        found.push({ ...f, subject, detector: d.name });
      }
    });
    if (signal.aborted) throw signal.reason ?? new Error('pass aborted');
    const byId = new Map(instances.map((i) => [i.id, i] as const));
    const holds = await this.deps.guards.holds(found, byId);
    const level = this.deps.repairLevel();
    const decide = (f: DriftFinding, prior?: Unresolved): { state: RepairState; queue: boolean } => {
      const hold = f.instanceId ? holds.get(f.instanceId) : undefined;
      if (prior?.state === 'queued' && !hold) return { state: 'queued', queue: false };
      if (hold) return { state: 'skipped', queue: false };
      if (f.level <= level) return { state: 'queued', queue: true };
      // An operator's approval failed: it waits for the next approval, not for this pass.
      if (prior?.state === 'failed') return { state: 'failed', queue: false };
      return { state: 'proposed', queue: false };
    };
    const covered = (e: Unresolved): boolean => coverage.some((c) => c.kinds.includes(e.kind) && (!c.examined || (!!e.instance_id && c.examined.has(e.instance_id))));

    let findings: PassFinding[];
    let queued: PassReport['queued'] = [];
    let resolved = 0;
    if (!fence) {
      const open = await this.unresolved(this.deps.ds.manager);
      findings = found.map((f) => {
        const prior = open.get(f.subject);
        return { ...f, state: decide(f, prior).state, hold: (f.instanceId && holds.get(f.instanceId)) || null, eventId: prior?.id, fresh: !prior };
      });
    } else {
      ({ findings, queued, resolved } = await fence.transaction((m) => this.record(m, fence.value, found, holds, decide, covered)));
    }
    const result = { findings, detectors: report, queued, resolved, instances: instances.length, durationMs: Date.now() - started };
    this.deps.metrics.observePass(result);
    return result;
  }

  private async unresolved(m: EntityManager, lock = false): Promise<Map<string, Unresolved>> {
    const rows: Unresolved[] = await m.query(
      `SELECT id, subject, kind, detector, state, level, instance_id, attempts FROM repair_event WHERE resolved_at IS NULL${lock ? ' FOR UPDATE' : ''}`);
    return new Map(rows.map((r) => [r.subject, r]));
  }

  /** Inserts new drift, updates drift seen again, resolves drift no longer seen: three statements. */
  private async record(
    m: EntityManager, token: number, found: Array<DriftFinding & { subject: string; detector: string }>, holds: Map<string, Hold>,
    decide: (f: DriftFinding, prior?: Unresolved) => { state: RepairState; queue: boolean }, covered: (e: Unresolved) => boolean,
  ): Promise<{ findings: PassFinding[]; queued: PassReport['queued']; resolved: number }> {
    const open = await this.unresolved(m, true);
    const rows = found.map((f) => {
      const prior = open.get(f.subject);
      const { state, queue } = decide(f, prior);
      const hold = (f.instanceId && holds.get(f.instanceId)) || null;
      return {
        f, prior, state, hold,
        row: {
          id: prior?.id ?? null, kind: f.kind, subject: f.subject, detector: f.detector, instance_id: f.instanceId ?? null,
          operation_id: f.operationId ?? null, evidence: f.evidence, action: f.action, level: f.level, state,
          outcome: hold, queue,
        },
      };
    });
    const columns = `id uuid, kind text, subject text, detector text, instance_id uuid, operation_id uuid, evidence jsonb, action text,
      level int, state text, outcome jsonb, queue boolean`;
    const fresh = rows.filter((r) => !r.prior).map((r) => r.row);
    const again = rows.filter((r) => r.prior).map((r) => r.row);
    const inserted: Array<{ id: string; subject: string; attempts: number; state: string }> = fresh.length ? await m.query(
      `INSERT INTO repair_event (kind, subject, detector, instance_id, operation_id, evidence, action, level, state, outcome, fencing_token, last_seen_at, attempts)
       SELECT kind, subject, detector, instance_id, operation_id, evidence, action, level, state, outcome, $2, now(), CASE WHEN queue THEN 1 ELSE 0 END
         FROM jsonb_to_recordset($1::jsonb) AS x(${columns})
       RETURNING id, subject, attempts, state`, [JSON.stringify(fresh), token]) : [];
    const updated: Array<{ id: string; subject: string; attempts: number; state: string }> = again.length ? returnedRows(await m.query(
      `UPDATE repair_event e SET evidence = x.evidence, action = x.action, level = x.level, state = x.state, fencing_token = $2,
              outcome = CASE WHEN x.state = 'skipped' THEN x.outcome WHEN e.state = 'skipped' THEN NULL ELSE e.outcome END,
              attempts = e.attempts + CASE WHEN x.queue THEN 1 ELSE 0 END, sightings = e.sightings + 1, last_seen_at = now(), updated_at = now()
         FROM jsonb_to_recordset($1::jsonb) AS x(${columns})
        WHERE e.id = x.id
       RETURNING e.id, e.subject, e.attempts, e.state`, [JSON.stringify(again), token])) : [];
    const subjects = new Set(found.map((f) => f.subject));
    const gone = [...open.values()].filter((e) => !subjects.has(e.subject) && covered(e)).map((e) => e.id);
    if (gone.length) {
      await m.query(
        `UPDATE repair_event SET resolved_at = now(), fencing_token = $2, updated_at = now(),
                state = CASE WHEN state = 'queued' THEN 'skipped' ELSE state END,
                outcome = CASE WHEN state = 'queued' THEN '{"reason":"no_longer_seen"}'::jsonb ELSE outcome END
          WHERE id = ANY($1::uuid[])`, [gone, token]);
    }
    const stored = new Map([...inserted, ...updated].map((r) => [r.subject, r]));
    const findings = rows.map(({ f, prior, state, hold }): PassFinding => ({ ...f, state, hold, eventId: stored.get(f.subject)?.id, fresh: !prior }));
    const queued = [...stored.values()].filter((r) => r.state === 'queued').map((r) => ({ id: r.id, attempts: r.attempts }));
    return { findings, queued, resolved: gone.length };
  }
}
