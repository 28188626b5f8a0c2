import { BootError, field, renderMail } from '../api';
import type { MailPart, NotificationTemplate, NotificationTemplates } from '../api';

/** Text of several lines (a log excerpt): each line kept, control characters dropped. */
const lines = (data: Record<string, unknown>, key: string, max = 20): string[] =>
  (Array.isArray(data[key]) ? (data[key] as unknown[]) : []).slice(-max).map((l) => String(l).replace(/[\u0000-\u0008\u000B-\u001F\u007F]/g, ''));

const when = (data: Record<string, unknown>, key: string) => {
  const value = data[key];
  const d = value ? new Date(String(value)) : null;
  return d && !Number.isNaN(d.getTime()) ? d.toISOString().replace('T', ' ').replace(/:\d\d\.\d+Z$/, ' UTC') : field(data, key, 'soon');
};

const server = (d: Record<string, unknown>) => field(d, 'serverName', 'your server');
const panel = (d: Record<string, unknown>): MailPart[] => (d.url ? [{ text: 'Open it in the panel:', link: field(d, 'url') }] : []);

/** Every customer-facing event the kernel (and the billing plugin) tells account holders about. */
export const KERNEL_TEMPLATES: NotificationTemplate[] = [
  {
    name: 'server_ready', optional: true, description: 'A new server finished provisioning and is ready',
    render: (d) => renderMail(`Your server "${server(d)}" is ready`, [
      { text: `Your server "${server(d)}" has been created and is ready to use.` }, ...panel(d)]),
  },
  {
    name: 'server_crashed', optional: true, description: 'A server stopped unexpectedly (with its cause and last log lines)',
    render: (d) => renderMail(`Your server "${server(d)}" crashed (${field(d, 'classification', 'unexpected_exit')})`, [
      { text: `Your server "${server(d)}" stopped unexpectedly at ${when(d, 'crashedAt')} (exit code ${field(d, 'exitCode', 'none')}` +
        `${d.signal ? `, signal ${field(d, 'signal')}` : ''}, cause: ${field(d, 'classification', 'unexpected_exit')}).` },
      { text: field(d, 'next', 'It was not restarted.') },
      { text: 'Last log lines:' },
      { text: lines(d, 'logTail', 10).join('\n') || '(none)', pre: true }, ...panel(d)]),
  },
  {
    name: 'provisioning_failed', optional: true, description: 'Creating a server failed and was undone',
    render: (d) => renderMail(`Your server "${server(d)}" could not be created`, [
      { text: `Creating your server "${server(d)}" failed (${field(d, 'code', 'internal')}: ${field(d, 'reason', 'unknown error')}). ` +
        'Nothing was charged for it and nothing was left behind; you can try again.' }]),
  },
  {
    name: 'billing_warning', optional: false, description: 'A payment failed',
    render: (d) => renderMail('Your zpack payment failed', [
      { text: `We could not take your payment${d.amount ? ` of ${field(d, 'amount')}` : ''}. Please update your payment method` +
        `${d.nextStepAt ? ` before ${when(d, 'nextStepAt')}` : ''} to keep your servers running.` },
      ...(d.url ? [{ text: 'Update it here:', link: field(d, 'url') }] : [])]),
  },
  {
    name: 'billing_final_warning', optional: false, description: 'Payment still missing: new backups are blocked',
    render: (d) => renderMail('Final notice: your zpack servers will be stopped', [
      { text: `Your payment is still missing. New backups are blocked now, and your servers will be stopped` +
        `${d.nextStepAt ? ` at ${when(d, 'nextStepAt')}` : ' soon'} unless the payment goes through. Nothing will be deleted.` },
      ...(d.url ? [{ text: 'Pay here:', link: field(d, 'url') }] : [])]),
  },
  {
    name: 'billing_suspended', optional: false, description: 'The account is suspended for non-payment',
    render: (d) => renderMail('Your zpack account is suspended', [
      { text: 'Your servers were stopped because the payment is still missing. Your data is kept: nothing was deleted, ' +
        'and you can still read and download your files. Everything comes back once the payment goes through.' },
      ...(d.url ? [{ text: 'Pay here:', link: field(d, 'url') }] : [])]),
  },
  {
    name: 'billing_restored', optional: false, description: 'A payment went through after a warning or suspension',
    render: () => renderMail('Your zpack account is active again', [
      { text: 'Thank you: your payment went through and your account is active again. You can start your servers from the panel.' }]),
  },
  {
    name: 'invoice_paid', optional: true, description: 'A receipt for each paid invoice',
    render: (d) => renderMail(`Receipt for your zpack invoice${d.number ? ` ${field(d, 'number')}` : ''}`, [
      { text: `We received your payment${d.amount ? ` of ${field(d, 'amount')}` : ''}. Thank you.` },
      ...(d.url ? [{ text: 'The invoice:', link: field(d, 'url') }] : [])]),
  },
  {
    name: 'password_reset', optional: false, description: 'A link to reset the password',
    render: (d) => renderMail('Reset your zpack password', [
      { text: `Someone asked to reset the password of ${field(d, 'email')}.` },
      { text: `Reset it here within ${field(d, 'minutes', '60')} minutes:`, link: field(d, 'url') },
      { text: 'If it was not you, ignore this message.' }]),
  },
  {
    name: 'maintenance_scheduled', optional: true, description: 'Planned maintenance affecting your servers',
    render: (d) => renderMail(`Planned maintenance on ${when(d, 'startsAt')}`, [
      { text: `We will carry out maintenance from ${when(d, 'startsAt')} to ${when(d, 'endsAt')}. ` +
        `It affects ${field(d, 'affected', 'your servers')}; they may be unavailable for part of that time.` },
      { text: field(d, 'message') }]),
  },
  {
    name: 'maintenance_starting', optional: true, description: 'Maintenance affecting your servers has begun',
    render: (d) => renderMail('Maintenance has begun', [
      { text: `Maintenance affecting ${field(d, 'affected', 'your servers')} has begun and lasts until ${when(d, 'endsAt')}. ` +
        'A server that stops in this time is not restarted automatically until it is over.' },
      { text: field(d, 'message') }]),
  },
];

export class TemplateRegistry implements NotificationTemplates {
  private readonly templates = new Map<string, NotificationTemplate>();

  constructor(initial: NotificationTemplate[] = KERNEL_TEMPLATES) {
    for (const t of initial) this.define(t);
  }

  define(template: NotificationTemplate): void {
    if (this.templates.has(template.name)) throw new BootError(`notification template "${template.name}" is defined twice`, 'template_defined_twice');
    this.templates.set(template.name, template);
  }

  get(name: string): NotificationTemplate | undefined {
    return this.templates.get(name);
  }

  list(): NotificationTemplate[] {
    return [...this.templates.values()];
  }
}
