import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The instance payload section this plugin writes is named after it: `proxy` becomes `velocity`. */
export class VelocitySection1700000101000 implements MigrationInterface {
  name = 'VelocitySection1700000101000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE instance SET payload = (payload - 'proxy') || jsonb_build_object('velocity', payload->'proxy') WHERE payload ? 'proxy'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE instance SET payload = (payload - 'velocity') || jsonb_build_object('proxy', payload->'velocity') WHERE payload ? 'velocity'`);
  }
}
