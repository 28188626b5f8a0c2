import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The controller's findings: one row per drift, updated while it persists. */
export class KernelRepairEvents1700000200000 implements MigrationInterface {
  name = 'KernelRepairEvents1700000200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE repair_event (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      kind text NOT NULL,
      subject text NOT NULL,
      detector text NOT NULL,
      instance_id uuid,
      operation_id uuid,
      evidence jsonb NOT NULL DEFAULT '{}',
      action text NOT NULL,
      level int NOT NULL CHECK (level BETWEEN 1 AND 3),
      state text NOT NULL CHECK (state IN ('proposed','queued','done','failed','skipped')),
      outcome jsonb,
      fencing_token bigint NOT NULL,
      sightings int NOT NULL DEFAULT 1,
      attempts int NOT NULL DEFAULT 0,
      last_seen_at timestamptz NOT NULL,
      approved_by uuid,
      approved_at timestamptz,
      resolved_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE UNIQUE INDEX repair_event_unresolved_subject ON repair_event (subject) WHERE resolved_at IS NULL`);
    await q.query(`CREATE INDEX repair_event_resolved_at ON repair_event (resolved_at)`);
    await q.query(`CREATE INDEX repair_event_created ON repair_event (created_at DESC, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS repair_event`);
  }
}
