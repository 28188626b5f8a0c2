import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The instance payload section this plugin writes is named after it: `edge` becomes `cloudflare`. */
export class CloudflareSection1700000100000 implements MigrationInterface {
  name = 'CloudflareSection1700000100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE instance SET payload = (payload - 'edge') || jsonb_build_object('cloudflare', payload->'edge') WHERE payload ? 'edge'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE instance SET payload = (payload - 'cloudflare') || jsonb_build_object('edge', payload->'cloudflare') WHERE payload ? 'cloudflare'`);
  }
}
