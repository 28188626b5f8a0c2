import { z } from 'zod';
import type { InstanceView } from '../../../kernel/api';
import type { InstalledMod } from './installed-mod';
import type { ServerGame } from './resolver';

const env = z.enum(['required', 'optional', 'unsupported']);

/** A modpack index (`modrinth.index.json`, format 1): what a .mrpack holds and what an export writes. */
export const manifestSchema = z.object({
  formatVersion: z.literal(1),
  game: z.literal('minecraft'),
  versionId: z.string(),
  name: z.string(),
  summary: z.string().optional(),
  files: z.array(z.object({
    path: z.string(),
    hashes: z.object({ sha1: z.string(), sha512: z.string() }),
    env: z.object({ client: env, server: env }).optional(),
    downloads: z.array(z.string()),
    fileSize: z.number().int().nonnegative(),
  })),
  dependencies: z.record(z.string(), z.string()),
}).meta({ id: 'ModManifest' });
export type ModManifest = z.infer<typeof manifestSchema>;

/**
 * The enabled mods as a modpack index, so the list can be kept, shared or used to build a pack.
 * Only `minecraft` is named under dependencies: the loader's own version is the server's, not tracked here.
 */
export function exportManifest(instance: InstanceView, game: ServerGame, mods: InstalledMod[]): ModManifest {
  return {
    formatVersion: 1, game: 'minecraft', versionId: new Date().toISOString().slice(0, 10), name: instance.name,
    summary: `Mods of ${instance.name} (${game.loader.flavor}, Minecraft ${game.version})`,
    files: mods.filter((m) => m.enabled).map((m) => ({
      path: m.filePath, hashes: { sha1: m.sha1, sha512: m.sha512 },
      env: { client: env.catch('optional').parse(m.clientSide), server: 'required' as const }, downloads: [m.fileUrl], fileSize: m.sizeBytes,
    })),
    dependencies: { minecraft: game.version },
  };
}
