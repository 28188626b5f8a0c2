import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Uptime history: each server's last readiness sample, its ready and observed time per hour,
 * and its incidents (not-ready spans with their cause). Instances get an index on their last change.
 */
export class KernelUptime1700000700000 implements MigrationInterface {
  name = 'KernelUptime1700000700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE uptime_state (
      instance_id uuid PRIMARY KEY,
      at timestamptz NOT NULL,
      ready boolean NOT NULL)`);
    await q.query(`CREATE TABLE uptime_hour (
      instance_id uuid NOT NULL,
      hour timestamptz NOT NULL,
      ready_ms bigint NOT NULL DEFAULT 0,
      observed_ms bigint NOT NULL DEFAULT 0,
      PRIMARY KEY (instance_id, hour))`);
    await q.query(`CREATE INDEX uptime_hour_hour_idx ON uptime_hour (hour)`);
    await q.query(`CREATE TABLE uptime_incident (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      instance_id uuid NOT NULL,
      started_at timestamptz NOT NULL,
      ended_at timestamptz NULL,
      cause text NOT NULL)`);
    await q.query(`CREATE INDEX uptime_incident_instance_idx ON uptime_incident (instance_id, started_at)`);
    await q.query(`CREATE UNIQUE INDEX uptime_incident_open_uq ON uptime_incident (instance_id) WHERE ended_at IS NULL`);
    // The operator console's live fleet stream follows instances by their last change.
    await q.query(`CREATE INDEX instance_updated_at_idx ON instance (updated_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS instance_updated_at_idx`);
    await q.query(`DROP TABLE IF EXISTS uptime_incident`);
    await q.query(`DROP TABLE IF EXISTS uptime_hour`);
    await q.query(`DROP TABLE IF EXISTS uptime_state`);
  }
}
