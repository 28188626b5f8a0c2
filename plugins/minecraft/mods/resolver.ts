import { ConflictError, InvalidRequestError, NotFoundError } from '../../../kernel/api';
import type { ModCatalog, ModProject, ModVersion } from '../../../kernel/api';
import type { InstalledMod } from './installed-mod';
import { matchingLoader, type ServerLoader } from './loaders';

/** A server's game as the mods care: its Minecraft version and its loader. */
export interface ServerGame {
  version: string;
  loader: ServerLoader;
}

/** One file to put on the server, fully resolved (what the operation downloads and installs). */
export interface PlannedMod {
  projectId: string;
  slug: string;
  name: string;
  versionId: string;
  versionNumber: string;
  publishedAt: string;
  loader: string;
  path: string;
  url: string;
  sha512: string;
  sha1: string;
  sizeBytes: number;
  requires: string[];
  incompatible: string[];
  clientSide: string;
  explicit: boolean;
}

/** Required dependencies deeper than this are a catalog loop, not a mod. */
const MAX_DEPTH = 12;

/**
 * Works out what installing (or updating to) one project's version means on a server: the
 * version that fits its loader and game version, every required dependency not already there,
 * and the conflicts (409, named) that forbid it.
 */
export class ModResolver {
  constructor(private readonly catalog: ModCatalog, private readonly game: ServerGame, private readonly installed: InstalledMod[]) {}

  async plan(projectIdOrSlug: string, versionId: string | undefined, replacing?: InstalledMod): Promise<PlannedMod[]> {
    const planned: PlannedMod[] = [];
    const root = await this.resolve(projectIdOrSlug, versionId, true, planned, 0, replacing);
    if (!replacing && this.installed.some((m) => m.projectId === root.projectId)) {
      throw new ConflictError(`${root.name} is already installed; change its version with PATCH`, { reason: 'installed', projectId: root.projectId });
    }
    this.checkIncompatible(planned, replacing);
    return planned;
  }

  private async resolve(idOrSlug: string, versionId: string | undefined, explicit: boolean, planned: PlannedMod[], depth: number, replacing?: InstalledMod): Promise<PlannedMod> {
    if (depth > MAX_DEPTH) throw new ConflictError(`The dependencies of ${idOrSlug} go deeper than ${MAX_DEPTH} levels`, { reason: 'dependency_depth' });
    const project = await this.catalog.project(idOrSlug);
    if (!project) throw explicit ? new NotFoundError('Project') : new ConflictError(`A required dependency (${idOrSlug}) is not in the catalog`, { reason: 'missing_dependency', projectId: idOrSlug });
    if (project.projectType === 'modpack') {
      throw new InvalidRequestError(`${project.title} is a modpack: create a server from it (options.modpack) instead`, { fields: [{ path: 'body.projectId', message: 'is a modpack' }] });
    }
    const version = versionId ? await this.pinned(project, versionId) : await this.best(project);
    const loader = matchingLoader(this.game.loader, version.loaders)!;
    const file = version.files.find((f) => f.primary) ?? version.files[0];
    if (!file) throw new ConflictError(`${project.title} ${version.versionNumber} has no file to install`, { reason: 'no_file', versionId: version.id });
    const mod: PlannedMod = {
      projectId: project.id, slug: project.slug, name: project.title, versionId: version.id, versionNumber: version.versionNumber,
      publishedAt: version.publishedAt, loader, path: `${this.game.loader.folder}/${file.filename}`, url: file.url, sha512: file.hashes.sha512,
      sha1: file.hashes.sha1, sizeBytes: file.size, clientSide: project.clientSide, explicit,
      requires: version.dependencies.filter((d) => d.type === 'required' && d.projectId).map((d) => d.projectId!),
      incompatible: version.dependencies.filter((d) => d.type === 'incompatible' && d.projectId).map((d) => d.projectId!),
    };
    if (replacing) mod.explicit = replacing.explicit;
    planned.push(mod);
    for (const dep of version.dependencies.filter((d) => d.type === 'required')) {
      const depProject = dep.projectId ?? (dep.versionId ? (await this.catalog.version(dep.versionId))?.projectId : undefined);
      if (!depProject) continue;
      if (this.installed.some((m) => m.projectId === depProject) || planned.some((p) => p.projectId === depProject)) continue;
      await this.resolve(depProject, dep.versionId ?? undefined, false, planned, depth + 1);
    }
    return mod;
  }

  private async pinned(project: ModProject, versionId: string): Promise<ModVersion> {
    const version = await this.catalog.version(versionId);
    if (!version || version.projectId !== project.id) {
      throw new InvalidRequestError(`${project.title} has no version ${versionId}`, { fields: [{ path: 'body.versionId', message: 'is not a version of this project' }] });
    }
    this.fits(project, version);
    return version;
  }

  /** The newest release that fits (a beta when nothing else does); 409 naming what the project supports. */
  private async best(project: ModProject): Promise<ModVersion> {
    const fitting = (await this.catalog.versions(project.id, { loaders: this.game.loader.loaders, gameVersions: [this.game.version] }))
      .filter((v) => matchingLoader(this.game.loader, v.loaders) && v.gameVersions.includes(this.game.version));
    const chosen = fitting.find((v) => v.versionType === 'release') ?? fitting[0];
    if (chosen) return chosen;
    const loaderFits = project.loaders.some((l) => this.game.loader.loaders.includes(l));
    throw new ConflictError(
      loaderFits
        ? `${project.title} has no version for Minecraft ${this.game.version} on ${this.game.loader.flavor} (it supports ${project.gameVersions.join(', ')})`
        : `${project.title} runs on ${project.loaders.join(', ')}, not on a ${this.game.loader.flavor} server`,
      { reason: loaderFits ? 'game_version' : 'loader', projectId: project.id, loaders: project.loaders, gameVersions: project.gameVersions, server: this.serverDetails() },
    );
  }

  private fits(project: ModProject, v: ModVersion): void {
    if (!matchingLoader(this.game.loader, v.loaders)) {
      throw new ConflictError(`${project.title} ${v.versionNumber} runs on ${v.loaders.join(', ')}, not on a ${this.game.loader.flavor} server`,
        { reason: 'loader', projectId: project.id, versionId: v.id, loaders: v.loaders, server: this.serverDetails() });
    }
    if (!v.gameVersions.includes(this.game.version)) {
      throw new ConflictError(`${project.title} ${v.versionNumber} is for Minecraft ${v.gameVersions.join(', ')}, not ${this.game.version}`,
        { reason: 'game_version', projectId: project.id, versionId: v.id, gameVersions: v.gameVersions, server: this.serverDetails() });
    }
  }

  /** A declared incompatibility either way, between what is planned and what stays installed, is 409. */
  private checkIncompatible(planned: PlannedMod[], replacing?: InstalledMod): void {
    const staying = this.installed.filter((m) => m.id !== replacing?.id);
    const all = [...planned.map((p) => ({ projectId: p.projectId, name: p.name, incompatible: p.incompatible })),
      ...staying.map((m) => ({ projectId: m.projectId, name: m.name, incompatible: m.incompatible }))];
    for (const p of planned) {
      for (const other of all) {
        if (other.projectId === p.projectId) continue;
        if (p.incompatible.includes(other.projectId ?? '') || other.incompatible.includes(p.projectId)) {
          throw new ConflictError(`${p.name} is incompatible with ${other.name}`, { reason: 'incompatible', projectId: p.projectId, with: other.projectId });
        }
      }
    }
  }

  private serverDetails() {
    return { flavor: this.game.loader.flavor, gameVersion: this.game.version, loaders: this.game.loader.loaders };
  }
}
