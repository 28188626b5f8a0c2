import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { BillingGate, NotFoundError } from '../../api';
import type { ApiRouter, PortRef } from '../../api';
import { Account, accountView } from '../entities';
import { audit } from '../audit';
import type { KernelConfig } from '../config';
import { currentQuota } from '../quota';
import type { AccountCache } from '../auth/account-cache';
import type { ConsoleRevocation } from '../auth/auth-service';
import { billingStateOf, entitlementsOf } from '../billing-state';
import { pageQuery, paged, pageRows, since } from '../http/paging';
import { timestamp } from '../../api';
import { enforcementState, userSchema } from './schemas';

const me = z.object({
  user: userSchema,
  quota: z.object({ maxInstances: z.number().int(), used: z.number().int() }),
  billing: z.object({ state: enforcementState, exempt: z.boolean() }),
});
const adminUser = userSchema.extend({ maxInstances: z.number().int().nullable(), createdAt: timestamp().optional(), updatedAt: timestamp().optional() });

interface Deps {
  ds: DataSource;
  config: KernelConfig;
  /** The billing plugin's gate when one is enabled. */
  optional<T>(port: PortRef<T>): T | undefined;
  /** Sessions and quotas remembered per account (dropped everywhere when the account changes). */
  cache: AccountCache;
  /** Consoles opened under the old role close: their tickets were issued under it. */
  closeConsoles(r: ConsoleRevocation): Promise<void>;
}

export function accountRoutes(r: ApiRouter, { ds, config, optional, cache, closeConsoles }: Deps): void {
  r.route({
    method: 'get', path: '/api/me', summary: 'The caller, their quota and billing state', auth: 'user', tags: ['accounts'],
    operationId: 'getMe', responses: { 200: me }, scope: 'account.read',
    handler: async ({ account }) => {
      const gate = optional(BillingGate);
      const plan = await entitlementsOf(ds, gate, account);
      // A plan's limit changes with payments the kernel does not see: only quotas without one are cached.
      let quota = plan ? undefined : cache.quota(account.id);
      if (!quota) {
        quota = await currentQuota(ds, config, account.id, plan?.maxInstances);
        if (!plan) cache.rememberQuota(account.id, quota);
      }
      const state = await billingStateOf(ds, gate, account);
      const user = { id: account.id, email: account.email, role: account.role, billingExempt: account.billingExempt };
      return { body: { user, quota, billing: { state, exempt: account.billingExempt || account.role === 'admin' } } };
    },
  });

  r.route({
    method: 'get', path: '/api/admin/users', summary: 'All accounts, oldest first', auth: 'admin', tags: ['admin'],
    operationId: 'adminListUsers', responses: { 200: paged({ users: z.array(adminUser) }) },
    query: pageQuery({
      role: z.enum(['user', 'admin']).optional(),
      since: since.optional().meta({ description: 'Only accounts created at or after this instant' }),
    }),
    handler: async ({ query }) => {
      const qb = ds.getRepository(Account).createQueryBuilder('a').where('TRUE');
      if (query.role) qb.andWhere('a.role = :role', { role: query.role });
      if (query.since) qb.andWhere('a.created_at >= :since', { since: query.since });
      const page = await pageRows(qb, query, { column: 'created_at', direction: 'ASC' });
      const users = page.items.map((a) => ({ ...accountView(a), maxInstances: a.maxInstances, createdAt: a.createdAt, updatedAt: a.updatedAt }));
      return { body: { users, nextCursor: page.nextCursor } };
    },
  });

  r.route({
    method: 'patch', path: '/api/admin/users/:id', summary: 'Change role, billing exemption or quota', auth: 'admin', tags: ['admin'],
    operationId: 'adminUpdateUser', responses: { 200: z.object({ user: adminUser }) },
    params: z.object({ id: z.uuid() }),
    body: z.object({
      role: z.enum(['user', 'admin']).optional(),
      billingExempt: z.boolean().optional(),
      maxInstances: z.number().int().min(0).max(10_000).nullable().optional(),
    }).strict(),
    handler: async ({ params, body, account }) => {
      const repo = ds.getRepository(Account);
      const target = await repo.findOneBy({ id: params.id });
      if (!target) throw new NotFoundError('User');
      const roleChanged = body.role !== undefined && body.role !== target.role;
      Object.assign(target, Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)));
      await repo.save(target);
      await cache.forget({ accountId: target.id });
      if (roleChanged) await closeConsoles({ accountId: target.id, reason: 'account role changed' });
      await audit(ds.manager, account.id, 'admin.user.update', target.id, body);
      return { body: { user: { ...accountView(target), maxInstances: target.maxInstances } } };
    },
  });
}
