import type { DataSource } from 'typeorm';
import { BillingSuspendedError, LockedError } from '../api';
import type { AccountView, BillingGate, EnforcementState, PlanEntitlements } from '../api';
import { audit } from './audit';

/** Whether billing applies to the account at all: admins and billing-exempt accounts are never enforced nor limited. */
async function enforced(ds: DataSource, who: string | AccountView): Promise<boolean> {
  const account = typeof who === 'string'
    ? (await ds.query(`SELECT role, billing_exempt AS "billingExempt" FROM account WHERE id = $1`, [who]))[0] as Pick<AccountView, 'role' | 'billingExempt'> | undefined
    : who;
  return !!account && account.role !== 'admin' && !account.billingExempt;
}

/** Admins and billing-exempt accounts are never enforced; without a billing plugin everyone is active. */
export async function billingStateOf(ds: DataSource, gate: BillingGate | undefined, who: string | AccountView): Promise<EnforcementState> {
  if (!gate || !(await enforced(ds, who))) return 'active';
  return gate.stateOf(typeof who === 'string' ? who : who.id);
}

/** The account's plan limits; none for admins, billing-exempt accounts, or without a billing plugin. */
export async function entitlementsOf(ds: DataSource, gate: BillingGate | undefined, who: string | AccountView): Promise<PlanEntitlements | null> {
  if (!gate || !(await enforced(ds, who))) return null;
  return gate.entitlementsOf(typeof who === 'string' ? who : who.id);
}

/** Mutations stop at suspension (402); new backups already stop at the final warning (423). */
export function assertMayMutate(state: EnforcementState, what: 'mutation' | 'backup'): void {
  if (state === 'suspended') throw new BillingSuspendedError('The account is suspended for non-payment; reads and downloads still work', { state });
  if (what === 'backup' && state === 'final_warning') throw new LockedError('New backups are blocked until the overdue payment is settled', { state });
}

/** The same check, with the refusal written to the audit log (what was refused, for whom, why). */
export async function guardMutation(
  ds: DataSource, accountId: string, state: EnforcementState, what: 'mutation' | 'backup', action: string, target: string | null,
): Promise<void> {
  try {
    assertMayMutate(state, what);
  } catch (err) {
    await audit(ds.manager, accountId, 'billing.refused', target, { action, state });
    throw err;
  }
}
