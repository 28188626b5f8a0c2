import { field, renderMail } from '../../kernel/api';
import type { NotificationTemplate } from '../../kernel/api';

/** The customer's mail about their tickets; never optional (they asked for it). */
export const SUPPORT_TEMPLATES: NotificationTemplate[] = [
  {
    name: 'support_acknowledgement', optional: false, description: 'We received your support ticket',
    render: (d) => renderMail(`[${field(d, 'number')}] We received your request: ${field(d, 'subject')}`, [
      { text: `Thank you for contacting us. Your ticket ${field(d, 'number')} is open and we will answer as soon as we can.` },
      { text: `Subject: ${field(d, 'subject')}\nCategory: ${field(d, 'category')}` },
      { text: field(d, 'message'), pre: true },
      { text: 'Reply from the support page in the panel; please quote the ticket number if you write to us.' }]),
  },
  {
    name: 'support_reply', optional: false, description: 'A reply on a support ticket',
    render: (d) => renderMail(`[${field(d, 'number')}] New reply: ${field(d, 'subject')}`, [
      { text: `${field(d, 'from', 'Support')} replied to ticket ${field(d, 'number')}:` },
      { text: field(d, 'message'), pre: true },
      { text: `Status: ${field(d, 'status', 'open')}` }]),
  },
];
