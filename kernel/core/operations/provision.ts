import { ProviderError } from '../../api';
import { isDatabaseUnavailable } from '../database';
import type { ProvisionPlan } from '../../api';
import { Instance } from '../entities';
import { allocate, markVmidForeign, release } from './allocator';
import { LeaseLost, OperationRun, describeError, retrySafe, type WorkerDeps } from './phases';

const VMID_TAKEN_RETRIES = 3;

/**
 * Runs a create operation phase by phase, checkpointing each. A re-run (crash, stalled job)
 * skips what is done and adopts the container tagged with the operation id. A failure before
 * the instance is ready undoes everything: container destroyed, allocations released.
 */
export class ProvisionWorker {
  constructor(private readonly deps: WorkerDeps) {}

  async run(operationId: string): Promise<void> {
    const op = await this.deps.lease.acquire(operationId);
    if (!op) return;
    const run = new OperationRun(op, this.deps);
    const plan = op.input.plan as ProvisionPlan;
    try {
      await this.provision(run, plan);
    } catch (err) {
      if (err instanceof LeaseLost) return;
      // Postgres is away: nothing could be recorded, so nothing is undone; the job runs again later.
      if (isDatabaseUnavailable(err)) throw err;
      await this.fail(run, err);
      return;
    }
    await run.phase('after_provision');
    const instance = await run.view();
    try {
      await this.deps.hooks.afterProvision.promise(instance);
      await this.deps.hooks.onInstanceReady.promise(instance);
    } catch (err) {
      // The server runs; a plugin's part (edge, proxy …) failed. The controller repairs drift.
      await run.finish('failed', describeError(err, 'after_provision'));
      return;
    }
    await run.finish('succeeded');
  }

  private async provision(run: OperationRun, plan: ProvisionPlan): Promise<void> {
    const { ds, config } = this.deps;
    const hosting = this.deps.hosting();
    const instanceId = run.op.instanceId!;
    const tag = `op-${run.op.id}`;

    if (run.cp.vmid === undefined) {
      await run.phase('allocate');
      const node = await retrySafe(() => hosting.pickNode());
      const granted = await ds.transaction((m) => allocate(m, instanceId, config.provisioning.vmidRange, config.provisioning.portRange, plan.portNeeds));
      await run.updateInstance({ vmid: granted.vmid, node, ports: granted.ports });
      await run.checkpoint({ vmid: granted.vmid, node, ports: granted.ports });
    }

    if (!run.cp.containerCreated) {
      await run.phase('create_container');
      // Only a re-run can find a container of its own: the first attempt has created nothing yet.
      const found = run.op.attempts > 1 ? await retrySafe(() => hosting.findByTag(tag)) : null;
      if (found) {
        await run.updateInstance({ vmid: found.vmid, node: found.node });
        await run.checkpoint({ containerCreated: true, adopted: true, vmid: found.vmid, node: found.node });
      } else {
        await this.createContainer(run, plan, tag);
      }
    }
    const ref = { vmid: run.cp.vmid!, node: run.cp.node! };

    if (!run.cp.started) {
      await run.phase('start');
      await retrySafe(async () => {
        if ((await hosting.status(ref)) !== 'running') await hosting.start(ref);
      });
      await run.checkpoint({ started: true });
    }

    if (!run.cp.address) {
      await run.phase('locate_agent');
      const address = await retrySafe(() => hosting.address(ref));
      await run.updateInstance({ address });
      await run.checkpoint({ address });
    }

    const agent = this.deps.agent();
    if (!run.cp.agentProvisioned) {
      await run.phase('provision_agent');
      const payload = {
        ...plan.agentPayload, instanceId, kind: plan.kind, type: plan.type, ports: run.cp.ports,
        agentToken: this.deps.agentTokens.tokenFor(instanceId), controlPlaneUrl: this.deps.controlPlaneUrl,
      };
      await retrySafe(async () => agent.provision(await run.view(), payload), 3);
      await run.checkpoint({ agentProvisioned: true });
    }

    if (!run.cp.ready) {
      await run.phase('wait_ready');
      await this.waitReady(run);
      await run.updateInstance({ state: 'running' });
      await this.deps.directory.setReady(instanceId, true);
      await run.checkpoint({ ready: true });
    }
  }

  /** Create is not safely repeatable: no automatic retry, except onto a fresh VMID when ours is taken by a stranger. */
  private async createContainer(run: OperationRun, plan: ProvisionPlan, tag: string): Promise<void> {
    const { ds } = this.deps;
    const instanceId = run.op.instanceId!;
    for (let attempt = 0; ; attempt++) {
      try {
        const ref = await this.deps.hosting().create({
          vmid: run.cp.vmid!, node: run.cp.node!, hostname: `zp-${run.cp.vmid}`, template: plan.template ?? plan.type,
          memoryMb: plan.memoryMb ?? 1024, cores: plan.cores ?? 1, diskGb: plan.diskGb ?? 8, tags: ['zpack', tag],
        });
        await run.checkpoint({ containerCreated: true, vmid: ref.vmid, node: ref.node });
        return;
      } catch (err) {
        const taken = err instanceof ProviderError && err.details.reason === 'vmid_taken';
        if (!taken || attempt >= VMID_TAKEN_RETRIES) throw err;
        const granted = await ds.transaction(async (m) => {
          await markVmidForeign(m, run.cp.vmid!);
          return allocate(m, instanceId, this.deps.config.provisioning.vmidRange, this.deps.config.provisioning.portRange, plan.portNeeds);
        });
        await run.updateInstance({ vmid: granted.vmid });
        await run.checkpoint({ vmid: granted.vmid });
      }
    }
  }

  private async waitReady(run: OperationRun): Promise<void> {
    const { config } = this.deps;
    const agent = this.deps.agent();
    const deadline = Date.now() + config.provisioning.readyTimeoutSeconds * 1000;
    let last: unknown = 'not ready';
    while (Date.now() < deadline) {
      try {
        const r = await agent.ready(await run.view());
        if (r.ready) return;
        last = r.detail ?? 'not ready';
      } catch (err) {
        last = (err as Error).message;
      }
      await run.renew();
      await new Promise((r) => setTimeout(r, config.provisioning.readyPollMs));
    }
    throw Object.assign(new Error(`not ready within ${config.provisioning.readyTimeoutSeconds} s`), {
      code: 'ready_timeout', details: { last },
    });
  }

  /** Undo: destroy what carries our tag, release allocations, retire the instance row. */
  private async fail(run: OperationRun, err: unknown): Promise<void> {
    const { ds, logger } = this.deps;
    const error = describeError(err, run.op.phase);
    logger.warn({ operationId: run.op.id, error }, 'provisioning failed; cleaning up');
    const hosting = this.deps.hosting();
    try {
      await retrySafe(async () => {
        const found = (await hosting.findByTag(`op-${run.op.id}`)) ?? (run.cp.containerCreated ? { vmid: run.cp.vmid!, node: run.cp.node! } : null);
        if (found) await hosting.destroy(found);
      }, 8);
    } catch (cleanupErr) {
      // Keep the allocations and the row: the container may still exist, so nothing may reuse its VMID.
      await run.updateInstance({ state: 'error' });
      await run.finish('failed', { ...error, details: { ...error.details, cleanup: 'pending', cleanupError: (cleanupErr as Error).message } });
      return;
    }
    await ds.transaction(async (m) => {
      await release(m, run.op.instanceId!);
      await m.getRepository(Instance).update(run.op.instanceId!, { state: 'deleted', deletedAt: new Date() });
    });
    await this.deps.accountChanged(run.op.accountId);
    await run.finish('failed', error);
  }
}

