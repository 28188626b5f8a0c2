import type { DataSource } from 'typeorm';
import { NotFoundError } from '../../api';
import type { DowntimeCause, InstanceAgent, InstancePower, InstanceView, PowerAction } from '../../api';
import { Instance, instanceView } from '../entities';
import { fromAgentError } from '../files/agent-failures';
import type { InstanceReadiness } from './readiness';

/** The one place a server's power changes: the agent is told, then the state recorded. */
export class KernelInstancePower implements InstancePower {
  constructor(
    private readonly ds: DataSource,
    private readonly agent: () => InstanceAgent,
    private readonly readiness: InstanceReadiness,
  ) {}

  async apply(instanceId: string, action: PowerAction): Promise<'running' | 'stopped'> {
    const instance = await this.ds.getRepository(Instance).findOneBy({ id: instanceId });
    if (!instance || instance.deletedAt) throw new NotFoundError('Server');
    return this.applyTo(instanceView(instance), action);
  }

  async applyTo(instance: InstanceView, action: PowerAction, cause: DowntimeCause = 'operator_stop'): Promise<'running' | 'stopped'> {
    // An agent that lost its container (not_provisioned) is a 409 the caller can act on, not our 502.
    await this.agent().power(instance, action).catch((err: unknown) => { throw fromAgentError(err); });
    const state = action === 'stop' || action === 'kill' ? 'stopped' as const : 'running' as const;
    await this.ds.getRepository(Instance).update(instance.id, { state });
    // Readiness is re-learnt from the agent's ready event.
    // Stopped by someone (an operator, a schedule, billing): the uptime history names why.
    await this.readiness.lost(instance.id, cause);
    return state;
  }
}
