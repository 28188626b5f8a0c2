import { ConflictError } from '../../../kernel/api';

/** What a server of a flavor runs: the catalog loaders whose files it loads, and the folder they go in. */
export interface ServerLoader {
  flavor: string;
  loaders: string[];
  folder: 'mods' | 'plugins';
}

const BY_FLAVOR: Record<string, Omit<ServerLoader, 'flavor'>> = {
  fabric: { loaders: ['fabric'], folder: 'mods' },
  quilt: { loaders: ['quilt', 'fabric'], folder: 'mods' },
  forge: { loaders: ['forge'], folder: 'mods' },
  neoforge: { loaders: ['neoforge'], folder: 'mods' },
  paper: { loaders: ['paper', 'spigot', 'bukkit'], folder: 'plugins' },
  purpur: { loaders: ['purpur', 'paper', 'spigot', 'bukkit'], folder: 'plugins' },
  spigot: { loaders: ['spigot', 'bukkit'], folder: 'plugins' },
};

/** A modpack names its loader as a dependency key (`fabric-loader`, `forge` …). */
export const PACK_LOADER_KEYS: Record<string, string> = {
  'fabric-loader': 'fabric', 'quilt-loader': 'quilt', forge: 'forge', neoforge: 'neoforge',
};

/** The server's loader, or 409 for a flavor that loads neither mods nor plugins (vanilla). */
export function loaderOf(flavor: string): ServerLoader {
  const found = BY_FLAVOR[flavor];
  if (!found) {
    throw new ConflictError(`A ${flavor} server loads no mods or plugins: reinstall it as fabric, forge, neoforge or paper first`, { reason: 'flavor', flavor });
  }
  return { flavor, ...found };
}

/** The first of the file's loaders that the server runs, or undefined. */
export function matchingLoader(server: ServerLoader, loaders: readonly string[]): string | undefined {
  return server.loaders.find((l) => loaders.includes(l));
}
