import type { DataSource } from 'typeorm';
import { ForbiddenError, NotFoundError, SCOPE_FOR_ACCESS } from '../api';
import type {
  AccessOptions, AccountView, EnforcementState, InstanceAccess, InstanceView, ServerAccessLevel, ServerRelation,
} from '../api';
import { Instance, Subuser, instanceView } from './entities';
import { guardMutation } from './billing-state';

/**
 * The one gate of every route acting on a server. Visible: its owner and the accounts it is shared
 * with (an accepted invitation); anyone else gets 404. Permitted: the owner for everything, a
 * subuser for the permissions granted, `view` for any of them; an admin as the owner does (with an API
 * key, only one holding the admin scope); an API key only within its scopes.
 * Billing is the owner's: a suspended owner's server refuses mutations whoever asks.
 */
export class KernelInstanceAccess implements InstanceAccess {
  constructor(
    private readonly ds: DataSource,
    private readonly billingState: (accountId: string) => Promise<EnforcementState>,
  ) {}

  async require(account: AccountView, instanceId: string, permission: ServerAccessLevel, options: AccessOptions = {}): Promise<InstanceView> {
    const instance = await this.ds.getRepository(Instance).findOneBy({ id: instanceId });
    if (!instance || instance.deletedAt) throw new NotFoundError('Server');
    const view = instanceView(instance);
    // Operators steer the whole fleet (the operator web console uses these same routes); an operator's
    // API key does so only with the admin scope, else it reaches what the operator's own account holds.
    const operator = account.role === 'admin' && (!account.credential || account.credential.scopes.includes('admin'));
    const relation = (await this.relation(account, view)) ?? (operator ? { kind: 'owner' as const } : null);
    if (!relation) throw new NotFoundError('Server');
    if (relation.kind === 'subuser' && permission !== 'view' && (permission === 'owner' || !relation.permissions.includes(permission))) {
      throw new ForbiddenError(permission === 'owner' ? 'Only the server\'s owner may do this' : `This needs the ${permission} permission on the server`, { permission });
    }
    const scope = SCOPE_FOR_ACCESS[permission];
    if (account.credential && !account.credential.scopes.includes(scope)) {
      throw new ForbiddenError(`This API key lacks the ${scope} scope`, { scope });
    }
    if (options.mutation) {
      const what = options.mutation === 'backup' ? 'backup' : 'mutation';
      await guardMutation(this.ds, instance.ownerId, await this.billingState(instance.ownerId), what, options.action ?? 'server.mutation', instance.id);
    }
    return view;
  }

  async relation(account: Pick<AccountView, 'id'>, instance: Pick<InstanceView, 'id' | 'ownerId'>): Promise<ServerRelation | null> {
    if (instance.ownerId === account.id) return { kind: 'owner' };
    const grant = await this.ds.getRepository(Subuser).createQueryBuilder('s')
      .where('s.instance_id = :i AND s.account_id = :a AND s.accepted_at IS NOT NULL', { i: instance.id, a: account.id }).getOne();
    return grant ? { kind: 'subuser', subuserId: grant.id, permissions: grant.permissions } : null;
  }
}
