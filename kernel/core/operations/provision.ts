import { VmidTakenError } from '../../api';
import { isDatabaseUnavailable } from '../database';
import type { AgentTokens, PortBinding, ProvisionPlan } from '../../api';
import { Instance, ProvisioningOperation } from '../entities';
import { withLogContext } from '../logger';
import { activeAmong } from '../maintenance';
import { allocate, allocateNow, markVmidForeign, release, reserveForeignVmids } from './allocator';
import { LeaseLost, OperationFailure, OperationRun, describeError, type WorkerDeps } from './phases';

const VMID_TAKEN_RETRIES = 3;

/** What an agent is handed: the type's payload, the instance's identity and ports, its token and where to post events. */
export function agentPayload(plan: ProvisionPlan, instanceId: string, ports: PortBinding[], tokens: AgentTokens, controlPlaneUrl: string): Record<string, unknown> {
  return { ...plan.agentPayload, instanceId, kind: plan.kind, type: plan.type, ports, agentToken: tokens.tokenFor(instanceId), controlPlaneUrl };
}

/**
 * Runs a create operation phase by phase, checkpointing each. What it learns (VMID, node, ports,
 * addresses) goes into the instance row; the checkpoint keeps only which steps are done. A re-run
 * (crash, stalled job) skips what is done and adopts the container the provider made for this
 * operation. A failure before
 * the instance is ready undoes everything: container destroyed, allocations released.
 * Waiting for readiness holds no worker: between checks the operation is parked (no lease)
 * and a delayed job, or the agent's ready event, runs it again.
 */
export class ProvisionWorker {
  constructor(private readonly deps: WorkerDeps) {}

  async run(operationId: string, resumed = false): Promise<void> {
    // A fresh create enters its first phase with the statement that takes it.
    const leased = await this.deps.lease.acquire(operationId, resumed, 'allocate');
    if (!leased) return;
    const run = new OperationRun(leased, this.deps);
    try {
      await withLogContext({ operationId: run.op.id, instanceId: run.op.instanceId ?? undefined }, () => this.execute(run));
    } finally {
      run.close();
    }
  }

  /** The agent said ready: a create parked in wait_ready runs its next check now rather than when scheduled. */
  async wake(instanceId: string): Promise<void> {
    const op = await this.deps.ds.getRepository(ProvisioningOperation).findOneBy({ instanceId, kind: 'create', state: 'running', phase: 'wait_ready' });
    if (!op) return;
    try {
      await this.deps.wakeups.wake(op.id, op.checkpoint.readyChecks ?? 0);
    } catch (err) {
      this.deps.logger.warn({ err, operationId: op.id }, 'could not wake the readiness check; it runs when scheduled');
    }
  }

  private async execute(run: OperationRun): Promise<void> {
    const plan = run.op.input.plan as ProvisionPlan;
    try {
      if ((await this.provision(run, plan)) === 'parked') return;
    } catch (err) {
      if (err instanceof LeaseLost) return;
      // Postgres is away: nothing could be recorded, so nothing is undone; the job runs again later.
      if (isDatabaseUnavailable(err)) throw err;
      await this.fail(run, err);
      return;
    }
    await run.phase('after_provision');
    const instance = await run.view();
    let failure: unknown;
    try {
      await this.deps.hooks.afterProvision.promise(instance);
    } catch (err) {
      failure = err;
    }
    try {
      // The server runs whatever a plugin's part (edge …) did: its readiness is recorded either way.
      await this.deps.readiness.becameReady(instance);
    } catch (err) {
      failure ??= err;
    }
    // A plugin's part failed: the operation says so; the server stays up.
    const { ownerEmail } = await run.finish(failure === undefined ? 'succeeded' : 'failed', failure === undefined ? null : describeError(failure, 'after_provision'));
    await this.tellOwner(run, ownerEmail, 'server_ready', {});
  }

  /** The owner (whose email the finishing statement read) hears how the create ended; a notification that cannot be queued changes nothing of the operation. */
  private async tellOwner(run: OperationRun, email: string | null, template: 'server_ready' | 'provisioning_failed', data: Record<string, unknown>): Promise<void> {
    if (!email) return;
    try {
      const instance = await run.instance();
      const base = this.deps.config.server.publicUrl;
      await this.deps.notifications.sendToOwner({
        to: email, template,
        data: { serverId: instance.id, serverName: instance.name, operationId: run.op.id, ...(base ? { url: `${base}/servers/${instance.id}` } : {}), ...data },
      });
    } catch (err) {
      this.deps.logger.warn({ err, operationId: run.op.id, template }, 'could not notify the owner');
    }
  }

  private async provision(run: OperationRun, plan: ProvisionPlan): Promise<'parked' | 'done'> {
    const { ds, config } = this.deps;
    const hosting = this.deps.hosting();
    const instanceId = run.op.instanceId!;
    // Each step's facts and checkpoint reach the row with the statement that enters the next phase.

    if (!run.cp.allocated) {
      await run.phase('allocate');
      const node = await this.placeNode(run);
      const granted = await allocateNow(ds, instanceId, config.provisioning.vmidRange, config.provisioning.portRange, plan.portNeeds);
      run.learnt({ vmid: granted.vmid, node, ports: granted.ports });
      await run.checkpoint({ allocated: true });
    }

    if (!run.cp.containerCreated) {
      await run.phase('create_container');
      // Only a re-run can find a container of its own: the first attempt has created nothing yet.
      const found = run.op.attempts > 1 ? await run.retry(() => hosting.findByOperation(run.op.id)) : null;
      if (found) {
        run.learnt({ vmid: found.vmid, node: found.node });
        await run.checkpoint({ containerCreated: true, adopted: true });
      } else {
        await this.createContainer(run, plan);
      }
    }
    const ref = await this.containerOf(run);

    if (!run.cp.started) {
      await run.phase('start');
      // Starting a running container is harmless (the port's contract), so no status read comes first.
      await run.retry(() => hosting.start(ref));
      await run.checkpoint({ started: true });
    }

    if (!run.cp.located) {
      await run.phase('locate_agent');
      const { host, agentUrl } = await run.retry(() => hosting.address(ref));
      run.learnt({ address: agentUrl, host });
      await run.checkpoint({ located: true });
    }

    if (!run.cp.agentProvisioned) {
      await run.phase('provision_agent');
      await this.provisionAgent(run, plan);
      await run.checkpoint({ agentProvisioned: true });
    }

    if (!run.cp.ready) {
      // The window's start is saved by the same statement that enters the phase.
      if (!run.cp.readySince) await run.checkpoint({ readySince: new Date().toISOString() });
      await run.phase('wait_ready');
      if (!(await this.checkReady(run, plan))) {
        await this.park(run);
        return 'parked';
      }
      // Saved, with the checkpoint, by the statement that enters after_provision.
      run.learnt({ state: 'running' });
      await run.checkpoint({ ready: true });
    }
    return 'done';
  }

  /**
   * A node no maintenance window holds: the provider is asked to avoid those in one, and the
   * node it picks is checked against the calendar (a provider that cannot avoid them fails here).
   */
  private async placeNode(run: OperationRun): Promise<string> {
    const { fleet, nodes, windows } = await this.deps.maintenance.inMaintenance();
    if (fleet) {
      throw new OperationFailure('maintenance', `the fleet is in a maintenance window until ${new Date(fleet.endsAt).toISOString()}`, { windowId: fleet.id });
    }
    const node = await run.retry(() => this.deps.hosting().pickNode({ exclude: nodes }));
    // The kernel's own calendar already answered with the windows just read; another calendar is asked.
    const calendar = this.deps.calendar();
    const window = (calendar as object) === this.deps.maintenance ? activeAmong(windows, node) : await calendar.activeFor(node);
    if (window) {
      throw new OperationFailure('maintenance', `node ${node} is in a maintenance window until ${new Date(window.endsAt).toISOString()}`, { windowId: window.id, node });
    }
    return node;
  }

  /** Hands the agent its payload; the agent accepts the same payload again (idempotent). */
  private async provisionAgent(run: OperationRun, plan: ProvisionPlan): Promise<void> {
    const instanceId = run.op.instanceId!;
    const payload = agentPayload(plan, instanceId, (await run.instance()).ports, this.deps.agentTokens, this.deps.controlPlaneUrl);
    await run.retry(async () => this.deps.agent().provision(await run.view(), payload), 3);
  }

  /** Create is not safely repeatable: no automatic retry, except onto a fresh VMID when ours is taken by a stranger. */
  private async createContainer(run: OperationRun, plan: ProvisionPlan): Promise<void> {
    const { ds } = this.deps;
    const instanceId = run.op.instanceId!;
    for (let attempt = 0; ; attempt++) {
      const row = await run.instance();
      try {
        const ref = await this.deps.hosting().create({
          vmid: row.vmid!, node: row.node!, operationId: run.op.id, instanceId, instanceName: row.name, template: plan.template ?? plan.type,
          memoryMb: plan.memoryMb ?? 1024, cores: plan.cores ?? 1, diskGb: plan.diskGb ?? 8,
        });
        run.learnt({ vmid: ref.vmid, node: ref.node });
        await run.checkpoint({ containerCreated: true });
        return;
      } catch (err) {
        if (!(err instanceof VmidTakenError) || attempt >= VMID_TAKEN_RETRIES) throw err;
        // One stranger in the range hints at more (a cluster shared with another system): the first
        // collision reserves every VMID the hosts list in one bulk read, so the next grant is free.
        const listed = attempt === 0 ? await this.strangersListed() : [];
        const { vmidRange, portRange } = this.deps.config.provisioning;
        const granted = await ds.transaction(async (m) => {
          await markVmidForeign(m, row.vmid!);
          const reserved = listed.length ? await reserveForeignVmids(m, listed, vmidRange) : 0;
          if (reserved) this.deps.logger.warn({ vmid: row.vmid, reserved }, 'VMIDs of containers that are not ours reserved as foreign');
          return allocate(m, instanceId, vmidRange, portRange, plan.portNeeds);
        });
        await run.updateInstance({ vmid: granted.vmid });
      }
    }
  }

  /** Every VMID the hosts list; none when the provider cannot list in bulk (then each collision is learnt one at a time). */
  private async strangersListed(): Promise<number[]> {
    try {
      return (await this.deps.hosting().list()).map((c) => c.vmid);
    } catch (err) {
      this.deps.logger.debug({ err }, 'hosting provider cannot list containers; foreign VMIDs are learnt one collision at a time');
      return [];
    }
  }

  /** The container as the instance row knows it (allocation and create keep the row current). */
  private async containerOf(run: OperationRun): Promise<{ vmid: number; node: string }> {
    const row = await run.instance();
    return { vmid: row.vmid!, node: row.node! };
  }

  /**
   * One readiness check. The checkpoint says the agent was provisioned; an agent that says it
   * holds no payload (it restarted, or the provision never reached it) is sent it again. The
   * window runs from when wait_ready first began, so a re-run after a crash does not restart it.
   */
  private async checkReady(run: OperationRun, plan: ProvisionPlan): Promise<boolean> {
    const { readyTimeoutSeconds } = this.deps.config.provisioning;
    let last: unknown = 'not ready';
    try {
      const readiness = await this.deps.agent().ready(await run.view());
      if (readiness.ready) return true;
      last = readiness.detail ?? last;
      if (readiness.provisioned === false) {
        this.deps.logger.info({ operationId: run.op.id }, 'the agent holds no payload; provisioning it again');
        await this.provisionAgent(run, plan);
      }
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() - Date.parse(run.cp.readySince!) >= readyTimeoutSeconds * 1000) {
      throw new OperationFailure('ready_timeout', `not ready within ${readyTimeoutSeconds} s`, { last });
    }
    return false;
  }

  /** Lets go of the operation until the next check; if scheduling it fails, the sweeper schedules it later. */
  private async park(run: OperationRun): Promise<void> {
    const check = (run.cp.readyChecks ?? 0) + 1;
    await run.checkpoint({ readyChecks: check });
    if (!(await run.park())) return;
    try {
      await this.deps.wakeups.schedule(run.op.id, check, this.deps.config.provisioning.readyPollMs);
    } catch (err) {
      this.deps.logger.warn({ err, operationId: run.op.id }, 'could not schedule the next readiness check; the sweeper will');
    }
  }

  /** Undo: destroy the container made for this operation, release allocations, retire the instance row. */
  private async fail(run: OperationRun, err: unknown): Promise<void> {
    const { ds, logger } = this.deps;
    const error = describeError(err, run.op.phase);
    logger.warn({ operationId: run.op.id, error }, 'provisioning failed; cleaning up');
    const hosting = this.deps.hosting();
    try {
      await run.retry(async () => {
        const found = (await hosting.findByOperation(run.op.id)) ?? (run.cp.containerCreated ? await this.containerOf(run) : null);
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
    const { ownerEmail } = await run.finish('failed', error);
    await this.tellOwner(run, ownerEmail, 'provisioning_failed', { code: error.code, reason: error.message });
  }
}

