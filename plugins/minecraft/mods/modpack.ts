import { unzipSync } from 'fflate';
import type { DataSource } from 'typeorm';
import { ConflictError, InvalidRequestError, Tokens, VetoError } from '../../../kernel/api';
import type { ModCatalog } from '../../../kernel/api';
import type { InstanceView, PluginContext, ProvisionPlan } from '../../../kernel/api';
import { InstalledMod } from './installed-mod';
import { PACK_LOADER_KEYS, loaderOf, matchingLoader } from './loaders';
import { manifestSchema } from './manifest';
import { sectionOf, type MinecraftSection, type ModService } from './service';

export interface ModpackOption {
  projectId: string;
  versionId: string;
}

const HASH = /^[a-f0-9]{128}$/;

/**
 * A path inside the server root as a pack writes it: relative, forward slashes, no `..`, no
 * empty or `.` segment, no NUL, backslash or drive letter. Anything else is refused, never fixed.
 */
export function confinedPackPath(path: string): boolean {
  if (!path || path.length > 512 || path.includes('\0') || path.includes('\\') || path.startsWith('/') || /^[A-Za-z]:/.test(path)) return false;
  return path.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

/** A pack's index is a few hundred kilobytes; the declared size of a bigger one is not even allocated. */
export const INDEX_MAX_BYTES = 8 * 1024 * 1024;
const INDEX = 'modrinth.index.json';

/**
 * The pack's index and the names of all its entries, inflating the index alone: a pack is anyone's
 * upload, and inflating its overrides here (each to the size its header claims) could exhaust the
 * control plane's memory. The agent unpacks the overrides; here their names are only checked.
 */
function readPack(archive: Uint8Array, pack: string): { index: unknown; names: string[] } {
  const names: string[] = [];
  const invalid = (why: string) => new VetoError('modpack_invalid', `${pack} ${why}`, 422);
  let zip: Record<string, Uint8Array>;
  try {
    zip = unzipSync(archive, {
      filter: (entry) => {
        names.push(entry.name);
        if (entry.name !== INDEX) return false;
        if (entry.originalSize > INDEX_MAX_BYTES) throw invalid(`has a modrinth.index.json larger than ${INDEX_MAX_BYTES} bytes`);
        return true;
      },
    });
  } catch (err) {
    if (err instanceof VetoError) throw err;
    throw invalid('is not a readable zip archive');
  }
  const raw = zip[INDEX];
  if (!raw) throw invalid('has no modrinth.index.json');
  try {
    return { index: JSON.parse(Buffer.from(raw).toString('utf8')), names };
  } catch {
    throw invalid('has a modrinth.index.json that is not JSON');
  }
}

const unsafe = (path: string) =>
  new VetoError('modpack_unsafe', `The modpack entry "${path.slice(0, 200)}" escapes the server root; the pack was refused`, 422, { path: path.slice(0, 200) });

/**
 * Modpacks at create time: the pack's index is fetched and checked (hash, game version, loader,
 * every path confined), and the agent is handed the files to download and check before the first
 * boot, plus the archive whose overrides it lays over the folder.
 */
export class Modpacks {
  constructor(private readonly ctx: PluginContext<unknown>, private readonly mods: ModService, private readonly ds: () => DataSource) {}

  async plan(plan: ProvisionPlan, option: ModpackOption, game: { version: string; flavor: string }): Promise<ProvisionPlan> {
    await this.mods.requireModsAllowed(plan.account.id);
    const catalog = this.mods.catalog;
    const [project, version] = await Promise.all([catalog.project(option.projectId), catalog.version(option.versionId)]);
    if (!project || project.projectType !== 'modpack' || !version || version.projectId !== project.id) {
      throw new InvalidRequestError('No such modpack version', { fields: [{ path: 'body.options.modpack', message: 'is not a version of a modpack in the catalog' }] });
    }
    const archive = version.files.find((f) => f.primary && f.filename.endsWith('.mrpack')) ?? version.files.find((f) => f.filename.endsWith('.mrpack'));
    if (!archive) throw new ConflictError(`${project.title} ${version.versionNumber} has no .mrpack file`, { reason: 'no_mrpack' });
    const { index: raw, names } = readPack(await catalog.fetchFile(archive), `${project.title} ${version.versionNumber}`);
    const parsed = manifestSchema.safeParse(raw);
    if (!parsed.success) throw new VetoError('modpack_invalid', `${project.title} ${version.versionNumber} has no valid modrinth.index.json`, 422);
    const index = parsed.data;

    const loader = loaderOf(game.flavor);
    if (index.dependencies.minecraft !== game.version) {
      throw new ConflictError(`${project.title} is for Minecraft ${index.dependencies.minecraft}, not ${game.version}`,
        { reason: 'game_version', gameVersion: index.dependencies.minecraft, server: game });
    }
    const packLoaders = Object.keys(index.dependencies).filter((k) => PACK_LOADER_KEYS[k]).map((k) => PACK_LOADER_KEYS[k]);
    if (packLoaders.length && !matchingLoader(loader, packLoaders)) {
      throw new ConflictError(`${project.title} runs on ${packLoaders.join(', ')}, not on a ${game.flavor} server`, { reason: 'loader', loaders: packLoaders, server: game });
    }
    for (const name of names) {
      for (const prefix of ['overrides/', 'server-overrides/']) {
        if (name.startsWith(prefix) && !name.endsWith('/') && !confinedPackPath(name.slice(prefix.length))) throw unsafe(name);
      }
    }
    const files = [];
    for (const f of index.files) {
      if (!confinedPackPath(f.path)) throw unsafe(f.path);
      if (f.env?.server === 'unsupported') continue;
      const url = f.downloads.find((d) => /^https?:\/\//.test(d));
      if (!url || !HASH.test(f.hashes.sha512)) throw new VetoError('modpack_invalid', `The modpack entry "${f.path}" has no download or sha512`, 422, { path: f.path });
      files.push({ path: f.path, url, sha512: f.hashes.sha512, sha1: f.hashes.sha1, sizeBytes: f.fileSize });
    }
    const section: MinecraftSection = {
      ...plan.payload?.[this.ctx.name], modpack: { projectId: project.id, versionId: version.id, name: `${project.title} ${version.versionNumber}`, files },
    };
    return {
      ...plan,
      payload: { ...plan.payload, [this.ctx.name]: section as Record<string, unknown> },
      agentPayload: {
        ...plan.agentPayload,
        modpack: { files: files.map(({ path, url, sha512, sizeBytes }) => ({ path, url, sha512, sizeBytes })), archive: { url: archive.url, sha512: archive.hashes.sha512 } },
      },
    };
  }

  /** The pack's files become rows of the mod list once the server exists (catalog versions found by hash). */
  async importInstalled(instance: InstanceView): Promise<void> {
    const pack = sectionOf(instance, this.ctx.name).modpack;
    if (!pack || pack.imported) return;
    const game = this.mods.game(instance);
    const byHash = await this.mods.catalog.versionsByHash(pack.files.map((f) => f.sha512));
    const projects = new Map<string, Awaited<ReturnType<ModCatalog['project']>>>();
    for (const v of Object.values(byHash)) if (!projects.has(v.projectId)) projects.set(v.projectId, await this.mods.catalog.project(v.projectId));
    const rows = pack.files.map((f) => {
      const v = byHash[f.sha512];
      const p = v ? projects.get(v.projectId) : null;
      const filename = f.path.split('/').pop()!;
      return {
        instanceId: instance.id, projectId: v?.projectId ?? null, versionId: v?.id ?? null, slug: p?.slug ?? filename.replace(/\.jar$/, ''),
        name: p?.title ?? filename, versionNumber: v?.versionNumber ?? 'unknown', publishedAt: v?.publishedAt ?? null,
        loader: (v && matchingLoader(game.loader, v.loaders)) ?? game.loader.loaders[0], enabled: true, source: 'modpack', explicit: true,
        filePath: f.path, fileUrl: f.url, sha512: f.sha512, sha1: f.sha1, sizeBytes: f.sizeBytes,
        requires: v?.dependencies.filter((d) => d.type === 'required' && d.projectId).map((d) => d.projectId!) ?? [],
        incompatible: v?.dependencies.filter((d) => d.type === 'incompatible' && d.projectId).map((d) => d.projectId!) ?? [],
        clientSide: p?.clientSide ?? 'required',
      };
    });
    await this.ds().createQueryBuilder().insert().into(InstalledMod).values(rows).orIgnore().execute();
    await this.ctx.resolve(Tokens.Instances).patchSection(instance.id, this.ctx.name, { modpack: { ...pack, imported: true } });
  }
}
