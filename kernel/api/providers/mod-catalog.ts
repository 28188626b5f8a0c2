import { PortId } from '../ports';

/**
 * A catalog of game mods, plugins and modpacks (Modrinth's v2 shapes, named our way). The
 * type plugin that manages a server's mods asks it; the plugin that talks to the catalog provides it.
 */

/** The loaders a version runs on, as the catalog names them: fabric, forge, neoforge, quilt, paper, spigot, bukkit … */
export type ModLoader = string;
export type ModProjectType = 'mod' | 'plugin' | 'modpack' | 'resourcepack' | 'shader' | 'datapack';
/** Whether a side needs the project: `required`, `optional`, `unsupported` (or `unknown`). */
export type ModSide = 'required' | 'optional' | 'unsupported' | 'unknown';

export interface ModSearchQuery {
  query?: string;
  loaders?: ModLoader[];
  gameVersions?: string[];
  categories?: string[];
  projectTypes?: ModProjectType[];
  offset: number;
  /** 1..100. */
  limit: number;
}

export interface ModSearchHit {
  projectId: string;
  slug: string;
  title: string;
  description: string;
  projectType: ModProjectType;
  categories: string[];
  /** Game versions some version of the project supports. */
  gameVersions: string[];
  downloads: number;
  iconUrl: string | null;
  serverSide: ModSide;
  clientSide: ModSide;
  latestVersion: string | null;
  updatedAt: string;
}

export interface ModSearchResult {
  hits: ModSearchHit[];
  offset: number;
  limit: number;
  totalHits: number;
}

export interface ModProject {
  id: string;
  slug: string;
  title: string;
  description: string;
  projectType: ModProjectType;
  categories: string[];
  loaders: ModLoader[];
  gameVersions: string[];
  serverSide: ModSide;
  clientSide: ModSide;
  /** Version ids, oldest first. */
  versions: string[];
  updatedAt: string;
}

export interface ModFile {
  url: string;
  filename: string;
  primary: boolean;
  size: number;
  hashes: { sha512: string; sha1: string };
}

export type ModDependencyType = 'required' | 'optional' | 'incompatible' | 'embedded';

export interface ModDependency {
  /** One of the two ids at least; a version id pins the dependency to that version. */
  projectId: string | null;
  versionId: string | null;
  type: ModDependencyType;
}

export interface ModVersion {
  id: string;
  projectId: string;
  name: string;
  versionNumber: string;
  gameVersions: string[];
  loaders: ModLoader[];
  versionType: 'release' | 'beta' | 'alpha';
  publishedAt: string;
  files: ModFile[];
  dependencies: ModDependency[];
}

export interface ModVersionFilter {
  loaders?: ModLoader[];
  gameVersions?: string[];
}

export abstract class ModCatalog {
  static readonly port = new PortId<ModCatalog>('ModCatalog');
  /** The catalog's name, shown as an installed mod's `source` (e.g. `modrinth`). */
  abstract readonly source: string;
  abstract search(query: ModSearchQuery): Promise<ModSearchResult>;
  /** By id or slug; null when the catalog has no such project. */
  abstract project(idOrSlug: string): Promise<ModProject | null>;
  /** The project's versions matching the filter, newest first. */
  abstract versions(projectId: string, filter?: ModVersionFilter): Promise<ModVersion[]>;
  abstract version(versionId: string): Promise<ModVersion | null>;
  /** The versions that own files with these sha512 hashes, by hash (unknown hashes are left out). */
  abstract versionsByHash(sha512: string[]): Promise<Record<string, ModVersion>>;
  /**
   * Fetches a file the catalog listed and checks it against its sha512; a mismatch is a
   * ProviderError (`hash_mismatch`). Only for small files the control plane reads itself (a
   * modpack's index); servers download their mods through their agent.
   */
  abstract fetchFile(file: ModFile): Promise<Buffer>;
}
