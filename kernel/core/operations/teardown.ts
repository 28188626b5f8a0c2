import type { StepOutcome, TeardownReport, TeardownStep } from '../../api';
import { withLogContext } from '../logger';
import { Instance } from '../entities';
import { release } from './allocator';
import { LeaseLost, OperationRun, describeError, type WorkerDeps } from './phases';

const settled = (s: TeardownStep | undefined) => s?.outcome === 'done' || s?.outcome === 'already_gone' || s?.outcome === 'skipped';

/**
 * stop → onTeardown taps → destroy → release allocations → mark deleted. Each step's outcome
 * goes into the report; settled steps are skipped when the operation runs again.
 */
export class TeardownWorker {
  constructor(private readonly deps: WorkerDeps) {}

  async run(operationId: string): Promise<void> {
    const leased = await this.deps.lease.acquire(operationId);
    if (!leased) return;
    const { op } = leased;
    const run = new OperationRun(leased, this.deps);
    const steps = new Map((op.checkpoint.steps ?? []).map((s) => [s.step, s]));
    const record = async (step: string, outcome: StepOutcome, error?: string) => {
      steps.set(step, { step, outcome, error, at: new Date().toISOString() });
      await run.checkpoint({ steps: [...steps.values()] });
    };
    try {
      await withLogContext({ operationId: op.id, instanceId: op.instanceId ?? undefined }, () => this.teardown(run, steps, record));
    } catch (err) {
      if (err instanceof LeaseLost) return;
      const error = describeError(err, run.op.phase);
      await this.deps.ds.getRepository(Instance).update(op.instanceId!, { state: 'error' });
      await run.finish('failed', error);
      return;
    } finally {
      run.close();
    }
    await run.finish('succeeded');
  }

  private async teardown(
    run: OperationRun,
    steps: Map<string, TeardownStep>,
    record: (step: string, outcome: StepOutcome, error?: string) => Promise<void>,
  ): Promise<void> {
    const hosting = this.deps.hosting();
    const instance = await run.instance();
    await this.deps.readiness.lost(instance.id);
    const ref = instance.vmid !== null && instance.node ? { vmid: instance.vmid, node: instance.node } : null;
    const step = async (name: string, fn: () => Promise<StepOutcome>) => {
      if (settled(steps.get(name))) return;
      await run.phase(name);
      try {
        await record(name, await fn());
      } catch (err) {
        await record(name, 'failed', (err as Error).message);
        throw err;
      }
    };

    await step('stop', async () => {
      if (!ref) return 'skipped';
      const status = await run.retry(() => hosting.status(ref), 3);
      if (status === 'missing') return 'already_gone';
      if (status === 'running') await run.retry(() => hosting.stop(ref), 3);
      return 'done';
    });

    if (!settled(steps.get('plugins'))) {
      await run.phase('plugins');
      const report: TeardownReport = {
        steps: [],
        record(name, outcome, error) {
          this.steps.push({ step: name, outcome, error, at: new Date().toISOString() });
        },
      };
      try {
        await this.deps.hooks.onTeardown.promise(await run.view(), report);
      } catch (err) {
        for (const s of report.steps) await record(s.step, s.outcome, s.error);
        const plugin = (err as { details?: { plugin?: string } }).details?.plugin ?? 'unknown';
        await record(`plugin:${plugin}`, 'failed', (err as Error).message);
        await record('plugins', 'failed', (err as Error).message);
        throw err;
      }
      for (const name of [...steps.keys()]) if (name.startsWith('plugin:')) steps.delete(name);
      for (const s of report.steps) await record(s.step, s.outcome, s.error);
      await record('plugins', 'done');
    }

    await step('destroy', async () => (ref ? run.retry(() => hosting.destroy(ref), 5) : 'skipped'));

    await step('release', async () => {
      await this.deps.ds.transaction((m) => release(m, instance.id));
      return 'done';
    });

    await step('mark_deleted', async () => {
      await this.deps.ds.getRepository(Instance).update(instance.id, { state: 'deleted', deletedAt: new Date() });
      await this.deps.accountChanged(instance.ownerId);
      return 'done';
    });
  }
}
