import { createHash } from 'node:crypto';
import { strToU8, zipSync } from 'fflate';

/**
 * The simulator's catalog: a few dozen projects shaped like Modrinth's (fabric, forge and
 * neoforge mods, paper/spigot plugins, modpacks), with dependency chains, declared
 * incompatibilities and real file bytes, so hashes are checked for real. Deterministic: the same
 * ids and hashes on every run.
 */

export interface WireFile {
  hashes: { sha512: string; sha1: string };
  url: string;
  filename: string;
  primary: boolean;
  size: number;
  file_type: string | null;
}
export interface WireDependency {
  version_id: string | null;
  project_id: string | null;
  file_name: string | null;
  dependency_type: 'required' | 'optional' | 'incompatible' | 'embedded';
}
export interface WireVersion {
  id: string;
  project_id: string;
  author_id: string;
  name: string;
  version_number: string;
  changelog: string;
  dependencies: WireDependency[];
  game_versions: string[];
  version_type: 'release' | 'beta' | 'alpha';
  loaders: string[];
  featured: boolean;
  status: 'listed';
  date_published: string;
  downloads: number;
  files: WireFile[];
}
export interface WireProject {
  id: string;
  slug: string;
  project_type: 'mod' | 'plugin' | 'modpack';
  team: string;
  title: string;
  description: string;
  body: string;
  categories: string[];
  additional_categories: string[];
  client_side: 'required' | 'optional' | 'unsupported';
  server_side: 'required' | 'optional' | 'unsupported';
  status: 'approved';
  downloads: number;
  followers: number;
  icon_url: string | null;
  published: string;
  updated: string;
  approved: string;
  game_versions: string[];
  loaders: string[];
  versions: string[];
  license: { id: string; name: string; url: string | null };
}

interface VersionSpec {
  number: string;
  games: string[];
  loaders: string[];
  requires?: string[];
  /** Pinned requirement: `slug@number`. */
  pins?: string[];
  incompatible?: string[];
  type?: 'release' | 'beta';
}
interface ProjectSpec {
  slug: string;
  title: string;
  type?: 'mod' | 'plugin';
  categories: string[];
  client?: 'required' | 'optional' | 'unsupported';
  server?: 'required' | 'optional' | 'unsupported';
  downloads: number;
  versions: VersionSpec[];
}

const NEW = ['1.21.4'];
const MID = ['1.21.1'];
const OLD = ['1.20.6'];
const ALL = [...OLD, ...MID, ...NEW];
const FABRIC = ['fabric'];
const FABRIC_QUILT = ['fabric', 'quilt'];
const FORGE = ['forge'];
const NEOFORGE = ['neoforge'];
const PLUGIN = ['paper', 'spigot', 'bukkit'];

const PROJECTS: ProjectSpec[] = [
  { slug: 'fabric-api', title: 'Fabric API', categories: ['library'], client: 'optional', downloads: 98_000_000, versions: [
    { number: '0.100.8+1.21.1', games: MID, loaders: FABRIC }, { number: '0.114.0+1.21.4', games: NEW, loaders: FABRIC }, { number: '0.100.0+1.20.6', games: OLD, loaders: FABRIC }] },
  { slug: 'sodium', title: 'Sodium', categories: ['optimization'], client: 'required', server: 'optional', downloads: 60_000_000, versions: [
    { number: 'mc1.21.1-0.6.0', games: MID, loaders: FABRIC_QUILT }, { number: 'mc1.21.4-0.6.5', games: NEW, loaders: FABRIC_QUILT }, { number: 'mc1.21.4-0.6.9', games: NEW, loaders: FABRIC_QUILT }] },
  { slug: 'indium', title: 'Indium', categories: ['library'], downloads: 21_000_000, versions: [
    { number: '1.0.35+mc1.21.4', games: NEW, loaders: FABRIC, requires: ['sodium'] }, { number: '1.0.34+mc1.21.1', games: MID, loaders: FABRIC, requires: ['sodium'] }] },
  { slug: 'continuity', title: 'Continuity', categories: ['decoration'], downloads: 9_000_000, versions: [
    { number: '3.0.0+1.21.4', games: NEW, loaders: FABRIC, requires: ['indium'] }, { number: '3.0.0+1.21.1', games: MID, loaders: FABRIC, requires: ['indium'] }] },
  { slug: 'lithium', title: 'Lithium', categories: ['optimization'], client: 'optional', downloads: 40_000_000, versions: [
    { number: 'mc1.21.1-0.13.0', games: MID, loaders: FABRIC_QUILT }, { number: 'mc1.21.4-0.14.3', games: NEW, loaders: FABRIC_QUILT }, { number: 'mc1.21.4-0.14.7', games: NEW, loaders: FABRIC_QUILT }] },
  { slug: 'starlight', title: 'Starlight', categories: ['optimization'], client: 'optional', downloads: 12_000_000, versions: [
    { number: '1.1.3+1.21.4', games: NEW, loaders: FABRIC }, { number: '1.1.3+1.21.1', games: MID, loaders: FABRIC }] },
  { slug: 'phosphor', title: 'Phosphor', categories: ['optimization'], client: 'optional', downloads: 5_000_000, versions: [
    { number: '0.9.0+1.21.4', games: NEW, loaders: FABRIC, incompatible: ['starlight'] }] },
  { slug: 'ferrite-core', title: 'FerriteCore', categories: ['optimization'], client: 'optional', downloads: 35_000_000, versions: [
    { number: '7.1.1-fabric', games: NEW, loaders: FABRIC }, { number: '7.1.1-neoforge', games: NEW, loaders: NEOFORGE }, { number: '7.0.0-fabric', games: MID, loaders: FABRIC }] },
  { slug: 'krypton', title: 'Krypton', categories: ['optimization'], client: 'optional', downloads: 8_000_000, versions: [
    { number: '0.2.8', games: [...MID, ...NEW], loaders: FABRIC }] },
  { slug: 'c2me-fabric', title: 'Concurrent Chunk Management Engine', categories: ['optimization'], client: 'optional', downloads: 7_000_000, versions: [
    { number: '0.3.1+alpha.0.30', games: NEW, loaders: FABRIC, type: 'beta' }] },
  { slug: 'modmenu', title: 'Mod Menu', categories: ['utility'], server: 'unsupported', downloads: 45_000_000, versions: [
    { number: '13.0.0', games: NEW, loaders: FABRIC_QUILT, requires: ['fabric-api'] }] },
  { slug: 'cloth-config', title: 'Cloth Config API', categories: ['library'], client: 'optional', downloads: 50_000_000, versions: [
    { number: '17.0.144+fabric', games: NEW, loaders: FABRIC }, { number: '17.0.144+neoforge', games: NEW, loaders: NEOFORGE }, { number: '15.0.140+forge', games: MID, loaders: FORGE }] },
  { slug: 'appleskin', title: 'AppleSkin', categories: ['food'], client: 'optional', downloads: 30_000_000, versions: [
    { number: '3.0.6+mc1.21.4', games: NEW, loaders: FABRIC }, { number: '3.0.6+mc1.21.1-forge', games: MID, loaders: FORGE }] },
  { slug: 'chunky', title: 'Chunky', categories: ['utility'], client: 'unsupported', downloads: 11_000_000, versions: [
    { number: '1.4.27-fabric', games: [...MID, ...NEW], loaders: FABRIC, requires: ['fabric-api'] }, { number: '1.4.27-paper', games: ALL, loaders: PLUGIN }] },
  { slug: 'spark', title: 'spark', categories: ['utility'], client: 'optional', downloads: 25_000_000, versions: [
    { number: '1.10.119-fabric', games: NEW, loaders: FABRIC, requires: ['fabric-api'] }, { number: '1.10.119-forge', games: MID, loaders: FORGE }, { number: '1.10.119-bukkit', games: ALL, loaders: PLUGIN }] },
  { slug: 'simple-voice-chat', title: 'Simple Voice Chat', categories: ['social'], client: 'required', downloads: 20_000_000, versions: [
    { number: 'fabric-1.21.4-2.5.26', games: NEW, loaders: FABRIC, requires: ['fabric-api'] }, { number: 'bukkit-2.5.26', games: ALL, loaders: PLUGIN }] },
  { slug: 'worldedit', title: 'WorldEdit', categories: ['utility'], client: 'optional', downloads: 18_000_000, versions: [
    { number: '7.3.9-fabric', games: NEW, loaders: FABRIC }, { number: '7.3.9-neoforge', games: NEW, loaders: NEOFORGE }, { number: '7.3.9-bukkit', games: ALL, loaders: PLUGIN }] },
  { slug: 'journeymap', title: 'JourneyMap', categories: ['adventure', 'utility'], client: 'required', server: 'optional', downloads: 16_000_000, versions: [
    { number: '1.20.6-6.0.0-fabric', games: OLD, loaders: FABRIC }, { number: '1.20.6-6.0.0-forge', games: OLD, loaders: FORGE }] },
  { slug: 'create', title: 'Create', categories: ['technology', 'decoration'], client: 'required', downloads: 19_000_000, versions: [
    { number: '6.0.4-forge', games: MID, loaders: FORGE }, { number: '6.0.4-neoforge', games: MID, loaders: NEOFORGE }] },
  { slug: 'jei', title: 'Just Enough Items', categories: ['utility'], client: 'required', server: 'optional', downloads: 27_000_000, versions: [
    { number: '19.21.0.247-forge', games: MID, loaders: FORGE }, { number: '19.21.0.247-neoforge', games: MID, loaders: NEOFORGE }, { number: '19.21.0.247-fabric', games: MID, loaders: FABRIC }] },
  { slug: 'luckperms', title: 'LuckPerms', type: 'plugin', categories: ['management', 'utility'], client: 'unsupported', downloads: 6_000_000, versions: [
    { number: '5.4.145-bukkit', games: ALL, loaders: PLUGIN }, { number: '5.4.141-bukkit', games: ALL, loaders: PLUGIN }] },
  { slug: 'placeholderapi', title: 'PlaceholderAPI', type: 'plugin', categories: ['library'], client: 'unsupported', downloads: 3_000_000, versions: [
    { number: '2.11.6', games: ALL, loaders: PLUGIN }] },
  { slug: 'tab-was-taken', title: 'TAB', type: 'plugin', categories: ['social'], client: 'unsupported', downloads: 1_500_000, versions: [
    { number: '5.0.3', games: ALL, loaders: PLUGIN, requires: ['placeholderapi'] }] },
  { slug: 'coreprotect', title: 'CoreProtect', type: 'plugin', categories: ['management'], client: 'unsupported', downloads: 2_200_000, versions: [
    { number: '22.4', games: ALL, loaders: PLUGIN }] },
  { slug: 'viaversion', title: 'ViaVersion', type: 'plugin', categories: ['utility'], client: 'unsupported', downloads: 4_000_000, versions: [
    { number: '5.2.1', games: ALL, loaders: PLUGIN }] },
  { slug: 'viabackwards', title: 'ViaBackwards', type: 'plugin', categories: ['utility'], client: 'unsupported', downloads: 2_500_000, versions: [
    { number: '5.2.1', games: ALL, loaders: PLUGIN, pins: ['viaversion@5.2.1'] }] },
  { slug: 'essentialsx', title: 'EssentialsX', type: 'plugin', categories: ['management', 'utility'], client: 'unsupported', downloads: 3_300_000, versions: [
    { number: '2.21.0', games: ALL, loaders: PLUGIN }] },
  { slug: 'cmi-lite', title: 'CMI Lite', type: 'plugin', categories: ['management'], client: 'unsupported', downloads: 400_000, versions: [
    { number: '1.2.0', games: ALL, loaders: PLUGIN, incompatible: ['essentialsx'] }] },
  { slug: 'dynmap', title: 'Dynmap', categories: ['utility'], client: 'unsupported', downloads: 2_000_000, versions: [
    { number: '3.7-beta-8-fabric', games: NEW, loaders: FABRIC, requires: ['fabric-api'], type: 'beta' }, { number: '3.7-beta-8-spigot', games: ALL, loaders: PLUGIN }] },
  { slug: 'terralith', title: 'Terralith', categories: ['worldgen'], client: 'optional', downloads: 10_000_000, versions: [
    { number: '2.5.8', games: NEW, loaders: [...FABRIC, ...NEOFORGE, ...PLUGIN] }] },
];

export interface Catalog {
  projects: WireProject[];
  versions: WireVersion[];
  /** File bytes by URL path (`/data/...`). */
  files: Map<string, Buffer>;
}

/** base62 ids of 8 characters, derived from a name so they never change between runs. */
export function idOf(name: string): string {
  const digest = createHash('sha256').update(name).digest();
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  return Array.from(digest.subarray(0, 8), (b) => alphabet[b % 62]).join('');
}

const DAY = 86_400_000;
const EPOCH = Date.parse('2024-06-01T00:00:00Z');

/** Builds the catalog; `cdnOrigin` is where file URLs point (the simulator's own origin). */
export function buildCatalog(cdnOrigin: string): Catalog {
  const projects: WireProject[] = [];
  const versions: WireVersion[] = [];
  const files = new Map<string, Buffer>();
  const projectIdOf = (slug: string) => idOf(`project:${slug}`);
  const versionIdOf = (slug: string, number: string) => idOf(`version:${slug}@${number}`);

  PROJECTS.forEach((spec, p) => {
    const id = projectIdOf(spec.slug);
    const ids: string[] = [];
    spec.versions.forEach((v, i) => {
      const vid = versionIdOf(spec.slug, v.number);
      const at = new Date(EPOCH + (p * 7 + i * 30) * DAY).toISOString();
      const bytes = jarBytes(spec.slug, v.number);
      const filename = `${spec.slug}-${v.number}.jar`;
      const path = `/data/${id}/versions/${vid}/${encodeURIComponent(filename)}`;
      files.set(path, bytes);
      const deps: WireDependency[] = [
        ...(v.requires ?? []).map((slug) => ({ version_id: null, project_id: projectIdOf(slug), file_name: null, dependency_type: 'required' as const })),
        ...(v.pins ?? []).map((pin) => {
          const [slug, number] = pin.split('@');
          return { version_id: versionIdOf(slug, number), project_id: projectIdOf(slug), file_name: null, dependency_type: 'required' as const };
        }),
        ...(v.incompatible ?? []).map((slug) => ({ version_id: null, project_id: projectIdOf(slug), file_name: null, dependency_type: 'incompatible' as const })),
      ];
      versions.push({
        id: vid, project_id: id, author_id: idOf(`author:${spec.slug}`), name: `${spec.title} ${v.number}`, version_number: v.number,
        changelog: `Changes in ${v.number}`, dependencies: deps, game_versions: v.games, version_type: v.type ?? 'release', loaders: v.loaders,
        featured: i === 0, status: 'listed', date_published: at, downloads: Math.round(spec.downloads / (i + 2)),
        files: [fileOf(cdnOrigin, path, filename, bytes)],
      });
      ids.push(vid);
    });
    const vs = versions.filter((v) => v.project_id === id);
    const dates = vs.map((v) => v.date_published).sort();
    projects.push({
      id, slug: spec.slug, project_type: spec.type ?? 'mod', team: idOf(`team:${spec.slug}`), title: spec.title,
      description: `${spec.title} for Minecraft servers`, body: `# ${spec.title}`, categories: [...spec.categories, ...new Set(vs.flatMap((v) => v.loaders))],
      additional_categories: [], client_side: spec.client ?? 'required', server_side: spec.server ?? 'required', status: 'approved',
      downloads: spec.downloads, followers: Math.round(spec.downloads / 1000), icon_url: `${cdnOrigin}/data/${id}/icon.png`,
      published: dates[0], updated: dates[dates.length - 1], approved: dates[0],
      game_versions: [...new Set(vs.flatMap((v) => v.game_versions))].sort(), loaders: [...new Set(vs.flatMap((v) => v.loaders))],
      versions: [...ids].sort((a, b) => vs.find((v) => v.id === a)!.date_published.localeCompare(vs.find((v) => v.id === b)!.date_published)),
      license: { id: 'LGPL-3.0-only', name: 'GNU Lesser General Public License v3.0 only', url: null },
    });
  });

  addModpacks(cdnOrigin, projects, versions, files);
  return { projects, versions, files };
}

function fileOf(cdnOrigin: string, path: string, filename: string, bytes: Buffer, fileType: string | null = null): WireFile {
  return {
    hashes: { sha512: createHash('sha512').update(bytes).digest('hex'), sha1: createHash('sha1').update(bytes).digest('hex') },
    url: `${cdnOrigin}${path}`, filename, primary: true, size: bytes.length, file_type: fileType,
  };
}

/** A small, real zip so a jar is bytes a hash can be taken of (and a loader would open). */
function jarBytes(slug: string, number: string): Buffer {
  const manifest = `{"schemaVersion":1,"id":"${slug.replace(/-/g, '_')}","version":"${number}"}`;
  return Buffer.from(zipSync({ 'fabric.mod.json': strToU8(manifest), 'META-INF/MANIFEST.MF': strToU8('Manifest-Version: 1.0\n') }, { mtime: EPOCH }));
}

interface PackSpec {
  slug: string;
  title: string;
  number: string;
  game: string;
  loader: 'fabric' | 'paper';
  /** Slugs of mods whose newest file for game+loader the pack lists. */
  mods: string[];
  /** A file only clients need (the server side skips it). */
  clientOnly?: string;
  /** Extra index entries, as written (bad paths, for the refusal tests). */
  rawEntries?: Array<{ path: string; slug: string }>;
  overrides: Record<string, string>;
}

const PACKS: PackSpec[] = [
  { slug: 'survival-essentials', title: 'Survival Essentials', number: '1.4.0', game: '1.21.4', loader: 'fabric',
    mods: ['fabric-api', 'lithium', 'ferrite-core', 'chunky'], clientOnly: 'modmenu',
    overrides: { 'overrides/config/lithium.properties': 'mixin.ai=true\n', 'server-overrides/config/chunky.json': '{"continueOnRestart":true}\n' } },
  { slug: 'escape-artist', title: 'Escape Artist', number: '0.1.0', game: '1.21.4', loader: 'fabric',
    mods: ['fabric-api'], rawEntries: [{ path: '../../../etc/cron.d/owned.jar', slug: 'lithium' }], overrides: {} },
];

function addModpacks(cdnOrigin: string, projects: WireProject[], versions: WireVersion[], files: Map<string, Buffer>): void {
  PACKS.forEach((pack, p) => {
    const id = idOf(`project:${pack.slug}`);
    const vid = idOf(`version:${pack.slug}@${pack.number}`);
    const newest = (slug: string) => versions
      .filter((v) => v.project_id === idOf(`project:${slug}`) && v.game_versions.includes(pack.game) && v.loaders.includes(pack.loader))
      .sort((a, b) => b.date_published.localeCompare(a.date_published))[0];
    const entry = (slug: string, path: string, server: 'required' | 'unsupported') => {
      const file = newest(slug).files[0];
      return { path, hashes: { sha1: file.hashes.sha1, sha512: file.hashes.sha512 }, env: { client: 'required', server }, downloads: [file.url], fileSize: file.size };
    };
    const index = {
      formatVersion: 1, game: 'minecraft', versionId: pack.number, name: pack.title, summary: `${pack.title} modpack`,
      files: [
        ...pack.mods.map((slug) => entry(slug, `mods/${newest(slug).files[0].filename}`, 'required')),
        ...(pack.clientOnly ? [entry(pack.clientOnly, `mods/${newest(pack.clientOnly).files[0].filename}`, 'unsupported')] : []),
        ...(pack.rawEntries ?? []).map((e) => entry(e.slug, e.path, 'required')),
      ],
      dependencies: { minecraft: pack.game, ...(pack.loader === 'fabric' ? { 'fabric-loader': '0.16.9' } : {}) },
    };
    const zip = Buffer.from(zipSync({
      'modrinth.index.json': strToU8(JSON.stringify(index, null, 2)),
      ...Object.fromEntries(Object.entries(pack.overrides).map(([k, v]) => [k, strToU8(v)])),
    }, { mtime: EPOCH }));
    const filename = `${pack.slug}-${pack.number}.mrpack`;
    const path = `/data/${id}/versions/${vid}/${filename}`;
    files.set(path, zip);
    const at = new Date(EPOCH + (200 + p) * DAY).toISOString();
    versions.push({
      id: vid, project_id: id, author_id: idOf(`author:${pack.slug}`), name: `${pack.title} ${pack.number}`, version_number: pack.number,
      changelog: '', dependencies: [], game_versions: [pack.game], version_type: 'release', loaders: [pack.loader], featured: true,
      status: 'listed', date_published: at, downloads: 10_000, files: [fileOf(cdnOrigin, path, filename, zip, null)],
    });
    projects.push({
      id, slug: pack.slug, project_type: 'modpack', team: idOf(`team:${pack.slug}`), title: pack.title, description: `${pack.title} modpack`,
      body: '', categories: ['adventure', pack.loader], additional_categories: [], client_side: 'required', server_side: 'optional',
      status: 'approved', downloads: 100_000, followers: 500, icon_url: null, published: at, updated: at, approved: at,
      game_versions: [pack.game], loaders: [pack.loader], versions: [vid], license: { id: 'MIT', name: 'MIT License', url: null },
    });
  });
}
