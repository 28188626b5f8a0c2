import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The mods and plugins installed on each server. */
export class MinecraftMods1700000601000 implements MigrationInterface {
  name = 'MinecraftMods1700000601000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE minecraft_mod (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      instance_id uuid NOT NULL REFERENCES instance(id) ON DELETE CASCADE,
      project_id text, version_id text, slug text NOT NULL, name text NOT NULL, version_number text NOT NULL, published_at text,
      loader text NOT NULL, enabled boolean NOT NULL DEFAULT true, source text NOT NULL, explicit boolean NOT NULL DEFAULT true,
      file_path text NOT NULL, file_url text NOT NULL, sha512 text NOT NULL, sha1 text NOT NULL, size_bytes bigint NOT NULL,
      requires jsonb NOT NULL DEFAULT '[]', incompatible jsonb NOT NULL DEFAULT '[]', client_side text NOT NULL DEFAULT 'required',
      created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE UNIQUE INDEX minecraft_mod_project ON minecraft_mod (instance_id, project_id)`);
    await q.query(`CREATE UNIQUE INDEX minecraft_mod_file ON minecraft_mod (instance_id, file_path)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE minecraft_mod`);
  }
}
