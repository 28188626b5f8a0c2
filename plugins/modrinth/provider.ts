import { z } from 'zod';
import { ModCatalog } from '../../kernel/api';
import type {
  ModFile, ModProject, ModProjectType, ModSearchQuery, ModSearchResult, ModVersion, ModVersionFilter,
} from '../../kernel/api';
import { wireProject, wireSearch, wireVersion, type WireProject, type WireVersion } from './client/wire';
import type { ModrinthClient } from './client/modrinth-client';

const PROJECT_TYPES: readonly ModProjectType[] = ['mod', 'plugin', 'modpack', 'resourcepack', 'shader', 'datapack'];
const projectType = (t: string): ModProjectType => (PROJECT_TYPES.includes(t as ModProjectType) ? t as ModProjectType : 'mod');

/** Modrinth as the ModCatalog port: facets built from the query, shapes renamed ours. */
export class ModrinthCatalog extends ModCatalog {
  readonly source = 'modrinth';

  constructor(private readonly client: () => ModrinthClient) {
    super();
  }

  async search(q: ModSearchQuery): Promise<ModSearchResult> {
    const facets: string[][] = [];
    if (q.projectTypes?.length) facets.push(q.projectTypes.map((t) => `project_type:${t}`));
    if (q.loaders?.length) facets.push(q.loaders.map((l) => `categories:${l}`));
    if (q.gameVersions?.length) facets.push(q.gameVersions.map((v) => `versions:${v}`));
    for (const c of q.categories ?? []) facets.push([`categories:${c}`]);
    const query: Record<string, string> = { offset: String(q.offset), limit: String(q.limit), index: 'relevance' };
    if (q.query) query.query = q.query;
    if (facets.length) query.facets = JSON.stringify(facets);
    const res = (await this.client().get('search', '/search', query, wireSearch))!;
    return {
      offset: res.offset, limit: res.limit, totalHits: res.total_hits,
      hits: res.hits.map((h) => ({
        projectId: h.project_id, slug: h.slug, title: h.title, description: h.description, projectType: projectType(h.project_type),
        categories: h.categories, gameVersions: h.versions, downloads: h.downloads, iconUrl: h.icon_url ?? null,
        serverSide: h.server_side, clientSide: h.client_side, latestVersion: h.latest_version ?? null, updatedAt: h.date_modified,
      })),
    };
  }

  async project(idOrSlug: string): Promise<ModProject | null> {
    const p = await this.client().get('get project', `/project/${encodeURIComponent(idOrSlug)}`, {}, wireProject);
    return p && projectOf(p);
  }

  async versions(projectId: string, filter: ModVersionFilter = {}): Promise<ModVersion[]> {
    const query: Record<string, string> = {};
    if (filter.loaders?.length) query.loaders = JSON.stringify(filter.loaders);
    if (filter.gameVersions?.length) query.game_versions = JSON.stringify(filter.gameVersions);
    const list = await this.client().get('list versions', `/project/${encodeURIComponent(projectId)}/version`, query, z.array(wireVersion));
    return (list ?? []).map(versionOf).sort((a, b) => b.publishedAt.localeCompare(a.publishedAt));
  }

  async version(versionId: string): Promise<ModVersion | null> {
    const v = await this.client().get('get version', `/version/${encodeURIComponent(versionId)}`, {}, wireVersion);
    return v && versionOf(v);
  }

  async versionsByHash(sha512: string[]): Promise<Record<string, ModVersion>> {
    if (!sha512.length) return {};
    const map = await this.client().post('versions by hash', '/version_files', { hashes: sha512, algorithm: 'sha512' }, z.record(z.string(), wireVersion));
    return Object.fromEntries(Object.entries(map).map(([hash, v]) => [hash, versionOf(v)]));
  }

  fetchFile(file: ModFile): Promise<Buffer> {
    return this.client().download(file.url, file.hashes.sha512, file.size);
  }
}

function projectOf(p: WireProject): ModProject {
  return {
    id: p.id, slug: p.slug, title: p.title, description: p.description, projectType: projectType(p.project_type), categories: p.categories,
    loaders: p.loaders, gameVersions: p.game_versions, serverSide: p.server_side, clientSide: p.client_side, versions: p.versions, updatedAt: p.updated,
  };
}

function versionOf(v: WireVersion): ModVersion {
  return {
    id: v.id, projectId: v.project_id, name: v.name, versionNumber: v.version_number, gameVersions: v.game_versions, loaders: v.loaders,
    versionType: v.version_type, publishedAt: v.date_published,
    files: v.files.map((f) => ({ url: f.url, filename: f.filename, primary: f.primary, size: f.size, hashes: f.hashes })),
    dependencies: v.dependencies.map((d) => ({ projectId: d.project_id ?? null, versionId: d.version_id ?? null, type: d.dependency_type })),
  };
}
