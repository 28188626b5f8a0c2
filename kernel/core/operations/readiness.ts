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
    const set = await this.redis.set(this.key(instance.id), '1', 'NX');
    await this.uptime.record({ instanceId: instance.id, ready: true });
    if (set === 'OK') await this.hooks.onInstanceReady.promise(instance);
  }

  /**
   * The instance is not (or no longer known to be) ready: crashed, stopped, restarting, deleted.
   * With a cause it is downtime for the uptime history; without one (teardown) nothing is recorded.
   */
  async lost(instanceId: string, cause?: DowntimeCause, at?: Date): Promise<void> {
    await this.redis.del(this.key(instanceId));
    if (cause) await this.uptime.record({ instanceId, ready: false, cause, at });
  }

  /** Which of these instances were last observed ready, in order. */
  async flags(ids: string[]): Promise<boolean[]> {
    if (!ids.length) return [];
    return (await this.redis.mget(ids.map((id) => this.key(id)))).map((flag) => flag === '1');
  }

  private key(id: string): string {
    return `${this.prefix}:ready:${id}`;
  }
}
