import { parseKernelConfig } from '../../kernel/core/config';
import type { TestKernel } from '../../test/harness';
import { create, settle, spawnProvisionWorker, startFleet, startFleetKernel, waitFor, type WorkerProcess } from '../../test/provisioning/fixture';
import { elapsedMs } from './concurrency';
import { deleteRedisKeys } from './redis-keys';

export interface Takeover {
  ms: number;
  /** The shipped defaults the run used: lease, BullMQ lock and stalled-check period. */
  leaseSeconds: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
}

/** Slow enough create/start tasks that the first worker is surely killed mid-create. */
const TASK_MS = 3000;

/**
 * A provision worker process is killed (SIGKILL) mid-create; the time until another worker has
 * taken the operation over (its lease, attempt 2). Uses the default lease and queue timings.
 */
export async function measureTakeover(): Promise<Takeover> {
  const defaults = parseKernelConfig({});
  const timing = { provisioning: { leaseSeconds: defaults.provisioning.leaseSeconds }, queues: defaults.queues };
  const fleet = await startFleet({ taskMs: TASK_MS });
  let api: TestKernel | undefined;
  let worker: TestKernel | undefined;
  let child: WorkerProcess | undefined;
  try {
    api = await startFleetKernel(fleet, { config: { role: 'api', ...timing } });
    const kernel = api.kernel;
    child = spawnProvisionWorker(fleet, api, timing);
    const user = await api.user();
    const opId: string = (await create(user, 'takeover')).body.operation.id;
    await waitFor(() => fleet.proxmox.containers().some((c) => c.tags.includes(`op-${opId}`)), 'the first worker created the container', 30_000);
    worker = await startFleetKernel(fleet, {
      schema: api.schema, prefix: api.prefix, config: { role: 'provision-worker', database: { dropSchemaOnStop: false }, ...timing },
    });
    const killed = process.hrtime.bigint();
    await child.kill();
    await waitFor(async () => {
      const [row] = await kernel.ds.query(`SELECT attempts FROM provisioning_operation WHERE id = $1`, [opId]);
      return row.attempts >= 2;
    }, 'another worker took the operation over', 120_000);
    const ms = elapsedMs(killed);
    const op = await settle(user, opId, 60_000);
    if (op.state !== 'succeeded') throw new Error(`the adopted operation ended ${op.state}: ${JSON.stringify(op.error)}`);
    return { ms, leaseSeconds: timing.provisioning.leaseSeconds, ...timing.queues };
  } catch (err) {
    if (child) console.error(`provision worker output:\n${child.output()}`);
    throw err;
  } finally {
    await child?.kill();
    await worker?.stop();
    await api?.stop();
    await fleet.stop();
    if (api) await deleteRedisKeys(api.prefix);
  }
}
