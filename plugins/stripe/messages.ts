import type { EnforcementState, NotificationMessage } from '../../kernel/api';
import type { BillingAnnouncement, BillingRow } from './store';

const day = (d: Date | null) => (d ? d.toISOString().slice(0, 10) : 'soon');

/** The billing announcement of a state (none once active again). */
export function announcementFor(state: EnforcementState, at: Date, nextStepAt: Date | null): BillingAnnouncement | null {
  const when = at.toISOString();
  switch (state) {
    case 'warning':
      return { severity: 'warning', title: 'Payment failed', message: `Your last payment failed. Your servers keep running; new backups pause on ${day(nextStepAt)}. Update your payment method to keep everything as it is.`, at: when };
    case 'final_warning':
      return { severity: 'critical', title: 'Final warning: new backups paused', message: `New backups are paused until the overdue payment is settled. Your servers stop on ${day(nextStepAt)}; nothing is deleted.`, at: when };
    case 'suspended':
      return { severity: 'critical', title: 'Account suspended', message: 'Your servers are stopped for non-payment. Nothing is deleted: files, backups and addresses are kept, and you can still read and download them. Pay to start the servers again.', at: when };
    default:
      return null;
  }
}

/** The email of each step, by template name (plain subject and text until the template renderer exists). */
export function messageFor(state: EnforcementState, to: string, row: BillingRow): NotificationMessage | null {
  const data = { state, nextStepAt: row.nextStepAt, plan: row.plan };
  switch (state) {
    case 'warning':
      return { to, template: 'billing_warning', subject: 'Your payment failed', data,
        text: `We could not take your last payment. Your servers keep running. New backups pause on ${day(row.nextStepAt)} unless the payment is settled; update your payment method in the billing portal.` };
    case 'final_warning':
      return { to, template: 'billing_final_warning', subject: 'Final warning: your servers stop soon', data,
        text: `Your payment is still overdue. New backups are paused, and your servers stop on ${day(row.nextStepAt)}. Nothing will be deleted.` };
    case 'suspended':
      return { to, template: 'billing_suspended', subject: 'Your servers are stopped', data,
        text: 'Your account is suspended for non-payment and its servers are stopped. Nothing is deleted; you can still read and download your files and backups. Settle the payment to start them again.' };
    case 'active':
      return { to, template: 'billing_restored', subject: 'Payment received: your servers are back', data,
        text: 'Thank you: your payment went through. The servers that were running before are starting again.' };
  }
}

/** The receipt of a paid invoice. */
export function receiptFor(to: string, invoice: { id: string; number?: string | null; amount_paid?: number; currency?: string; hosted_invoice_url?: string | null }): NotificationMessage {
  const amount = ((invoice.amount_paid ?? 0) / 100).toFixed(2);
  return {
    to, template: 'invoice_paid', subject: `Receipt for invoice ${invoice.number ?? invoice.id}`,
    text: `Thank you for your payment of ${amount} ${(invoice.currency ?? '').toUpperCase()}.${invoice.hosted_invoice_url ? ` Your invoice: ${invoice.hosted_invoice_url}` : ''}`,
    data: { invoiceId: invoice.id, number: invoice.number ?? null, amountPaid: invoice.amount_paid ?? 0, currency: invoice.currency ?? null },
  };
}
