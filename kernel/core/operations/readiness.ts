import type { Redis } from 'ioredis';
import type { DowntimeCause, InstanceView, KernelHooks, UptimeRecorder } from '../../api';

/**
 * The one writer of readiness: the last observed semantic readiness of each instance (a Redis
 * flag, so rehydration never asks a container) and the onInstanceReady hook, fired only when the
 * flag goes from unset to set.
 *
 * Observations that count: the provision worker's readiness check (through `becameReady` once the
 * instance is provisioned) and an agent's ready event for a running instance. A ready event for an
 * instance still provisioning only wakes its provision worker. Crash, power actions and teardown
 * clear the flag (`lost`). A status read probes the agent for its answer but records nothing:
 * a probe says how the agent is now, not that the instance went through a transition.
 */
const READY = '1';
const DOWN = '0';

export class InstanceReadiness {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly hooks: KernelHooks,
    /** Runs the parked readiness check of a create now. */
    private readonly wakeProvisioning: (instanceId: string) => Promise<void>,
    /** Each observation is also a sample of the uptime history. */
    private readonly uptime: UptimeRecorder,
  ) {}

  /** An agent said its instance is ready. */
  async agentSaidReady(instance: InstanceView): Promise<void> {
    if (instance.state === 'provisioning') await this.wakeProvisioning(instance.id);
    else if (instance.state === 'running') await this.becameReady(instance);
  }

  /** Records readiness; onInstanceReady runs only if it was not already recorded (one firing per transition). */
  async becameReady(instance: InstanceView): Promise<void> {
    const before = await this.redis.set(this.key(instance.id), READY, 'GET');
    await this.uptime.record({ instanceId: instance.id, ready: true });
    if (before !== READY) await this.hooks.onInstanceReady.promise(instance);
  }

  /**
   * The instance is not (or no longer known to be) ready: crashed, stopped, restarting, deleted.
   * With a cause it is downtime for the uptime history; without one (teardown) nothing is recorded.
   */
  async lost(instanceId: string, cause?: DowntimeCause, at?: Date): Promise<void> {
    // Down is remembered (a controller must tell it from never observed); a teardown forgets the instance.
    if (cause) {
      await this.redis.set(this.key(instanceId), DOWN);
      await this.uptime.record({ instanceId, ready: false, cause, at });
    } else {
      await this.redis.del(this.key(instanceId));
    }
  }

  /** Which of these instances were last observed ready, in order. */
  async flags(ids: string[]): Promise<boolean[]> {
    return (await this.observed(ids)).map((o) => o === 'ready');
  }

  /** The last observation of each instance, in order: ready, down, or undefined when none was ever made (or it was lost). */
  async observed(ids: string[]): Promise<Array<'ready' | 'down' | undefined>> {
    if (!ids.length) return [];
    return (await this.redis.mget(ids.map((id) => this.key(id)))).map((flag) => (flag === READY ? 'ready' : flag === DOWN ? 'down' : undefined));
  }

  private key(id: string): string {
    return `${this.prefix}:ready:${id}`;
  }
}
