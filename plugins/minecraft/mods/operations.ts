import type { DataSource, EntityManager } from 'typeorm';
import { ConflictError } from '../../../kernel/api';
import type { InstanceAgent, InstanceDirectory, OperationDefinition, OperationStepContext, PluginContext } from '../../../kernel/api';
import type { AgentStaging, StagedChange } from './agent-staging';
import { InstalledMod } from './installed-mod';
import type { PlannedMod } from './resolver';

/** What a mod change does, worked out by the route before the operation starts (so refusals are synchronous). */
export interface ModChangeInput {
  /** The catalog the files come from (an installed mod's `source`). */
  source: string;
  /** Files to download, check and put in place. */
  install: PlannedMod[];
  /** An update: the row that `install[0]` replaces, and the old file that goes. */
  replace?: { modId: string; path: string };
  /** Rows and files removed (a removal, with its dependents when cascading). */
  remove: Array<{ modId: string; path: string }>;
  /** Enable or disable: the file is renamed. */
  toggle?: { modId: string; from: string; to: string; enabled: boolean };
}

export const MOD_OPERATIONS = {
  install: 'mods.install',
  update: 'mods.update',
  enable: 'mods.enable',
  disable: 'mods.disable',
  remove: 'mods.remove',
} as const;

interface Deps {
  ds: () => DataSource;
  agent: () => InstanceAgent;
  staging: AgentStaging;
  instances: () => InstanceDirectory;
  plugin: string;
}

/**
 * Each mod change is one operation: resolve (still as planned?) → download (by the agent, each
 * file checked against its sha512, kept outside the server folder) → install (one all-or-nothing
 * batch on the folder, then the rows) → restart (when the server runs; otherwise it is marked as
 * needing one). A failure before install leaves the folder byte-for-byte as it was.
 */
export function defineModOperations(ctx: PluginContext<unknown>, deps: Deps): void {
  const withDownload = ['resolve', 'download', 'install', 'restart'] as const;
  const withoutDownload = ['resolve', 'install', 'restart'] as const;
  const definition = (phases: readonly string[]): OperationDefinition<ModChangeInput> => ({
    phases,
    run: (phase, step) => runPhase(deps, phase, step),
    undo: (_phase, _err, step) => discardStaged(deps, step),
  });
  ctx.operations.define(MOD_OPERATIONS.install, definition(withDownload));
  ctx.operations.define(MOD_OPERATIONS.update, definition(withDownload));
  ctx.operations.define(MOD_OPERATIONS.enable, definition(withoutDownload));
  ctx.operations.define(MOD_OPERATIONS.disable, definition(withoutDownload));
  ctx.operations.define(MOD_OPERATIONS.remove, definition(withoutDownload));
}

type Step = OperationStepContext<ModChangeInput>;

async function runPhase(deps: Deps, phase: string, step: Step): Promise<void> {
  const { input, instance } = step;
  switch (phase) {
    case 'resolve':
      return resolveStillHolds(deps, step);
    case 'download': {
      const staged = { ...(step.progress.staged as Record<string, string> | undefined) };
      for (const mod of input.install) {
        if (staged[mod.projectId]) continue;
        staged[mod.projectId] = await deps.staging.fetch(instance, { url: mod.url, sha512: mod.sha512, sizeBytes: mod.sizeBytes, path: mod.path });
        step.record({ staged });
      }
      return;
    }
    case 'install': {
      if (!step.progress.applied) {
        await deps.staging.apply(instance, changesOf(input, (step.progress.staged ?? {}) as Record<string, string>));
        step.record({ applied: true, staged: {} });
      }
      await deps.ds().transaction((m) => saveRows(m, instance.id, input));
      return;
    }
    case 'restart': {
      if (instance.state === 'running') {
        await deps.agent().power(instance, 'restart');
        await deps.instances().patchSection(instance.id, deps.plugin, { restartNeeded: false });
      } else {
        await deps.instances().patchSection(instance.id, deps.plugin, { restartNeeded: true });
      }
      return;
    }
    default:
      throw new Error(`unknown phase ${phase}`);
  }
}

/** The rows the change was planned against are still there, and nothing planned got installed meanwhile. */
async function resolveStillHolds(deps: Deps, step: Step): Promise<void> {
  const { input, instance } = step;
  const rows = await deps.ds().getRepository(InstalledMod).findBy({ instanceId: instance.id });
  const ids = new Set(rows.map((r) => r.id));
  const wanted = [input.replace?.modId, input.toggle?.modId, ...input.remove.map((r) => r.modId)].filter((x): x is string => !!x);
  const gone = wanted.find((id) => !ids.has(id));
  if (gone) throw new ConflictError(`Mod ${gone} is no longer installed`, { modId: gone });
  const replaced = rows.find((r) => r.id === input.replace?.modId);
  const clash = input.install.find((p) => rows.some((r) => r.projectId === p.projectId && r.id !== replaced?.id));
  if (clash) throw new ConflictError(`${clash.name} was installed meanwhile`, { projectId: clash.projectId });
  step.record({ resolved: true });
}

function changesOf(input: ModChangeInput, staged: Record<string, string>): StagedChange[] {
  const changes: StagedChange[] = [];
  const puts = new Set(input.install.map((m) => m.path));
  if (input.replace && !puts.has(input.replace.path)) changes.push({ delete: { path: input.replace.path } });
  for (const mod of input.install) changes.push({ put: { id: staged[mod.projectId], path: mod.path } });
  for (const r of input.remove) changes.push({ delete: { path: r.path } });
  if (input.toggle) changes.push({ move: { from: input.toggle.from, to: input.toggle.to } });
  return changes;
}

async function saveRows(m: EntityManager, instanceId: string, input: ModChangeInput): Promise<void> {
  const repo = m.getRepository(InstalledMod);
  const [first, ...rest] = input.install;
  const fields = (p: PlannedMod) => ({
    projectId: p.projectId, versionId: p.versionId, slug: p.slug, name: p.name, versionNumber: p.versionNumber, publishedAt: p.publishedAt,
    loader: p.loader, filePath: p.path, fileUrl: p.url, sha512: p.sha512, sha1: p.sha1, sizeBytes: p.sizeBytes, requires: p.requires,
    incompatible: p.incompatible, clientSide: p.clientSide, explicit: p.explicit,
  });
  if (input.replace && first) {
    await repo.update({ id: input.replace.modId, instanceId }, { ...fields(first), enabled: true });
  }
  for (const p of input.replace ? rest : input.install) {
    const exists = await repo.findOneBy({ instanceId, projectId: p.projectId });
    if (!exists) await repo.insert({ ...fields(p), instanceId, enabled: true, source: input.source });
  }
  if (input.remove.length) await repo.delete(input.remove.map((r) => r.modId));
  if (input.toggle) await repo.update({ id: input.toggle.modId, instanceId }, { enabled: input.toggle.enabled });
}

async function discardStaged(deps: Deps, step: Step): Promise<void> {
  const staged = (step.progress.staged ?? {}) as Record<string, string>;
  for (const id of Object.values(staged)) {
    await deps.staging.discard(step.instance, id).catch((err) => step.logger.warn({ err, id }, 'a staged download could not be discarded'));
  }
}
