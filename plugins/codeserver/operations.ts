import { ConflictError, InvalidRequestError } from '../../kernel/api';
import type { InstanceDirectory, OperationDefinition, OperationStepContext } from '../../kernel/api';
import type { RuntimeCatalog } from './catalog';
import type { DevAgent } from './dev-agent';

export const RUNTIME_UPGRADE = 'runtime.upgrade';
export const RUNTIME_ROLLBACK = 'runtime.rollback';

export interface RuntimeOperationDeps {
  catalog: RuntimeCatalog;
  dev: DevAgent;
  directory: () => InstanceDirectory;
  section: string;
}

/**
 * A runtime version change in place: the new version is installed next to the old (the agent
 * checks the artifact's hash), then switched to; the old one stays for rollback. A failed
 * install switches nothing, so the old runtime stays active. The workspace is never touched.
 */
export function runtimeUpgrade(deps: RuntimeOperationDeps): OperationDefinition<{ version: string }> {
  return {
    phases: ['install', 'activate'],
    async run(phase, step) {
      if (phase === 'install') {
        const status = await deps.dev.status(step.instance);
        const runtime = status.runtime?.name ?? '';
        const release = deps.catalog.find(runtime, step.input.version);
        if (!release) throw new InvalidRequestError(`${runtime} ${step.input.version} is not in the catalog`);
        step.record({ runtime, from: status.runtime?.active ?? null });
        step.logger.info({ runtime, version: release.version, from: status.runtime?.active }, 'installing runtime');
        await deps.dev.install(step.instance, release);
        return;
      }
      await activate(deps, step, step.input.version);
    },
    async undo(failedPhase, _err, step) {
      // Only a failed switch can have left the container between versions: put the old one back.
      const from = step.progress.from;
      if (failedPhase === 'activate' && typeof from === 'string') await activate(deps, step, from);
    },
  };
}

/** Switches back to the version the last change replaced. */
export function runtimeRollback(deps: RuntimeOperationDeps): OperationDefinition<Record<string, never>> {
  return {
    phases: ['activate'],
    async run(_phase, step) {
      const status = await deps.dev.status(step.instance);
      const previous = status.runtime?.previous;
      if (!previous) throw new ConflictError('There is no previous runtime version to roll back to');
      await activate(deps, step, previous);
    },
  };
}

async function activate(deps: RuntimeOperationDeps, step: OperationStepContext<unknown>, version: string): Promise<void> {
  const runtime = await deps.dev.activate(step.instance, version);
  await deps.directory().patchSection(step.instance.id, deps.section, { runtime, observedAt: new Date().toISOString() });
}
