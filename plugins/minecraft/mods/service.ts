import type { DataSource } from 'typeorm';
import { BillingGate, ConflictError, ModCatalog, NotFoundError, UnavailableError, ZpackError } from '../../../kernel/api';
import type { InstanceView, ModVersion, PluginContext } from '../../../kernel/api';
import { InstalledMod, pathOnDisk } from './installed-mod';
import { loaderOf } from './loaders';
import type { ModChangeInput } from './operations';
import { ModResolver, type ServerGame } from './resolver';

/** What the minecraft plugin keeps in its own payload section of a server. */
export interface MinecraftSection {
  version?: string;
  flavor?: string;
  restartNeeded?: boolean;
  modpack?: { projectId: string; versionId: string; name: string; files: Array<{ path: string; sha512: string; sha1: string; url: string; sizeBytes: number }>; imported?: boolean };
  crash?: { at: string; classification: string; culprit: { name: string; missing?: string } };
}

export const sectionOf = (instance: InstanceView, plugin: string): MinecraftSection => (instance.payload[plugin] ?? {}) as MinecraftSection;

/** A fix the mod list offers after a crash that blames a mod. */
export interface ModFix {
  action: 'disable' | 'install';
  reason: string;
  modId?: string;
  project?: string;
}

/** Mod management on one server: reading the list, planning changes (refusals here are synchronous), plan limits. */
export class ModService {
  constructor(private readonly ctx: PluginContext<unknown>, private readonly ds: () => DataSource) {}

  /** The enabled catalog; without one, mod management is unavailable (503), the servers still run. */
  get catalog(): ModCatalog {
    const catalog = this.ctx.resolveAll(ModCatalog)[0];
    if (!catalog) throw new UnavailableError('No mod catalog is enabled on this installation', { reason: 'no_catalog' });
    return catalog;
  }

  section(instance: InstanceView): MinecraftSection {
    return sectionOf(instance, this.ctx.name);
  }

  game(instance: InstanceView): ServerGame {
    const s = sectionOf(instance, this.ctx.name);
    if (!s.version || !s.flavor) {
      throw new ConflictError('This server was created before mod management: its game version and loader are unknown; reinstall it first', { reason: 'game_unknown' });
    }
    return { version: s.version, loader: loaderOf(s.flavor) };
  }

  /**
   * Plan limits: a plan without `mods` refuses installs (403 naming the plan); no gate or no limits allows them.
   * The plan is the server owner's, whoever asks: a subuser's own plan neither lends mods to the server nor withholds them.
   */
  async requireModsAllowed(ownerId: string): Promise<void> {
    const gate = this.ctx.resolveAll(BillingGate)[0];
    const plan = gate ? await gate.entitlementsOf(ownerId) : null;
    if (plan && !plan.mods) {
      throw new ZpackError('forbidden', 403, `The server owner's plan "${plan.plan}" does not include mods and plugins; upgrade to a modded plan`, { plan: plan.plan });
    }
  }

  installed(instanceId: string): Promise<InstalledMod[]> {
    return this.ds().getRepository(InstalledMod).find({ where: { instanceId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  async mod(instanceId: string, modId: string): Promise<InstalledMod> {
    const mod = /^[0-9a-f-]{36}$/i.test(modId) ? await this.ds().getRepository(InstalledMod).findOneBy({ instanceId, id: modId }) : null;
    if (!mod) throw new NotFoundError('Mod');
    return mod;
  }

  async planInstall(instance: InstanceView, projectId: string, versionId?: string): Promise<ModChangeInput> {
    const resolver = new ModResolver(this.catalog, this.game(instance), await this.installed(instance.id));
    return { source: this.catalog.source, install: await resolver.plan(projectId, versionId), remove: [] };
  }

  async planUpdate(instance: InstanceView, mod: InstalledMod, versionId: string): Promise<ModChangeInput> {
    if (!mod.projectId) throw new ConflictError(`${mod.name} is not from the catalog and cannot be updated`, { reason: 'not_in_catalog' });
    const resolver = new ModResolver(this.catalog, this.game(instance), await this.installed(instance.id));
    const install = await resolver.plan(mod.projectId, versionId, mod);
    return { source: this.catalog.source, install, replace: { modId: mod.id, path: pathOnDisk(mod) }, remove: [] };
  }

  planToggle(mod: InstalledMod, enabled: boolean, installed: InstalledMod[]): ModChangeInput {
    if (!enabled) this.refuseIfNeeded(mod, installed.filter((m) => m.enabled), 'disable');
    return { source: mod.source, install: [], remove: [], toggle: { modId: mod.id, from: pathOnDisk(mod), to: pathOnDisk({ ...mod, enabled }), enabled } };
  }

  /** Removal: refused (409, dependents named) while another mod needs it, unless cascading to them. */
  planRemove(mod: InstalledMod, installed: InstalledMod[], cascade: boolean): ModChangeInput {
    if (!cascade) {
      this.refuseIfNeeded(mod, installed, 'remove');
      return { source: mod.source, install: [], remove: [{ modId: mod.id, path: pathOnDisk(mod) }] };
    }
    const going = new Map<string, InstalledMod>([[mod.id, mod]]);
    for (let grew = true; grew;) {
      grew = false;
      for (const m of installed) {
        if (going.has(m.id)) continue;
        if ([...going.values()].some((g) => g.projectId && m.requires.includes(g.projectId))) {
          going.set(m.id, m);
          grew = true;
        }
      }
    }
    return { source: mod.source, install: [], remove: [...going.values()].map((m) => ({ modId: m.id, path: pathOnDisk(m) })) };
  }

  private refuseIfNeeded(mod: InstalledMod, installed: InstalledMod[], verb: string): void {
    const dependents = installed.filter((m) => m.id !== mod.id && mod.projectId && m.requires.includes(mod.projectId));
    if (dependents.length) {
      throw new ConflictError(`${mod.name} is required by ${dependents.map((d) => d.name).join(', ')}; ${verb} them first or pass cascade=true`, {
        reason: 'required_by', dependents: dependents.map((d) => ({ id: d.id, projectId: d.projectId, name: d.name })),
      });
    }
  }

  /** Newer fitting versions of the installed catalog mods. */
  async updates(instance: InstanceView, mods: InstalledMod[]) {
    const game = this.game(instance);
    const out = [];
    for (const mod of mods) {
      if (!mod.projectId) continue;
      const versions = await this.catalog.versions(mod.projectId, { loaders: game.loader.loaders, gameVersions: [game.version] });
      const newest = versions.find((v) => v.versionType === 'release' && fits(v, game)) ?? versions.find((v) => fits(v, game));
      if (newest && newest.id !== mod.versionId && (!mod.publishedAt || newest.publishedAt > mod.publishedAt)) {
        out.push({
          modId: mod.id, projectId: mod.projectId, name: mod.name, currentVersionId: mod.versionId, currentVersion: mod.versionNumber,
          latestVersionId: newest.id, latestVersion: newest.versionNumber, publishedAt: newest.publishedAt,
        });
      }
    }
    return out;
  }

  /** After a crash that blames a mod: which installed mod it is, and what to do about it. */
  crashFixes(instance: InstanceView, mods: InstalledMod[]): { blamed: Map<string, { crashedAt: string; classification: string }>; fixes: ModFix[] } {
    const crash = sectionOf(instance, this.ctx.name).crash;
    const blamed = new Map<string, { crashedAt: string; classification: string }>();
    const fixes: ModFix[] = [];
    if (!crash) return { blamed, fixes };
    const mod = mods.find((m) => namesMod(m, crash.culprit.name));
    if (mod) blamed.set(mod.id, { crashedAt: crash.at, classification: crash.classification });
    if (crash.classification === 'missing_dependency' && crash.culprit.missing) {
      const missing = crash.culprit.missing;
      if (!mods.some((m) => namesMod(m, missing) && m.enabled)) {
        fixes.push({ action: 'install', project: missing, modId: mod?.id, reason: `${crash.culprit.name} requires ${missing}, which is missing` });
      }
    } else if (mod?.enabled) {
      fixes.push({ action: 'disable', modId: mod.id, reason: `The last crash (${crash.classification}) names ${mod.name}` });
    }
    return { blamed, fixes };
  }
}

function fits(v: ModVersion, game: ServerGame): boolean {
  return v.gameVersions.includes(game.version) && v.loaders.some((l) => game.loader.loaders.includes(l));
}

/** A log names a mod by its id (`sodium`, `fabric_api`), its title or its jar's name. */
export function namesMod(mod: InstalledMod, name: string): boolean {
  const n = name.toLowerCase().replace(/\.jar$/, '');
  const forms = [mod.slug, mod.slug.replace(/-/g, '_'), mod.name, mod.name.replace(/\s+/g, '')].map((f) => f.toLowerCase());
  const file = mod.filePath.split('/').pop()!.toLowerCase().replace(/\.jar$/, '');
  return forms.includes(n) || file === n || (n.length >= 3 && file.startsWith(`${n}-`));
}
