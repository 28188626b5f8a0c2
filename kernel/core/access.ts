import type { DataSource } from 'typeorm';
import type { AccessOptions, AccountView, EnforcementState, InstanceAccess, InstanceView, ServerPermission } from '../api';
import { instanceView } from './entities';
import { guardMutation } from './billing-state';
import type { InstanceService } from './operations/instances';

/** Today a server is its owner's alone: the owner holds every permission, others see 404. */
export class KernelInstanceAccess implements InstanceAccess {
  constructor(
    private readonly ds: DataSource,
    private readonly instances: InstanceService,
    private readonly billingState: (accountId: string) => Promise<EnforcementState>,
  ) {}

  async require(account: AccountView, instanceId: string, _permission: ServerPermission, options: AccessOptions = {}): Promise<InstanceView> {
    const instance = await this.instances.owned(account, instanceId);
    if (options.mutation) {
      const what = options.mutation === 'backup' ? 'backup' : 'mutation';
      await guardMutation(this.ds, instance.ownerId, await this.billingState(instance.ownerId), what, options.action ?? 'server.mutation', instance.id);
    }
    return instanceView(instance);
  }
}
