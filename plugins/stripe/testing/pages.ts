import type { StripeObject } from './stripe-world';

const escape = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const layout = (title: string, body: string) => `<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto}button{font-size:1rem;padding:.5rem 1rem;margin-right:.5rem}</style>
</head><body><p><em>Stripe simulator: no money moves.</em></p>${body}</body></html>`;

/** The checkout a customer is sent to in simulate mode: pay, or have the card declined. */
export function checkoutPage(session: StripeObject, outcome?: 'paid' | 'declined'): string {
  const said = outcome === 'paid' ? '<p>Paid: your subscription is active.</p>' : outcome === 'declined' ? '<p>The card was declined. Nothing was charged.</p>' : '';
  const open = session.status === 'open'
    ? `<form method="post" action="/checkout/${escape(session.id)}/pay" style="display:inline"><button>Pay</button></form>
       <form method="post" action="/checkout/${escape(session.id)}/fail" style="display:inline"><button>Fail payment</button></form>`
    : `<p>This checkout is ${escape(session.status)}.</p>`;
  return layout('Checkout', `<h1>Subscribe</h1><p>Price <code>${escape(session.price)}</code></p>${said}${open}`);
}

/** The customer portal in simulate mode: pay what is open, or fail the next renewal. */
export function portalPage(id: string, customer: string, subscriptions: StripeObject[]): string {
  const rows = subscriptions.map((s) => `<li><code>${escape(s.id)}</code>: ${escape(s.status)}</li>`).join('') || '<li>No subscription</li>';
  const action = (name: string, label: string) =>
    `<form method="post" action="/portal/${escape(id)}/${name}?customer=${encodeURIComponent(customer)}" style="display:inline"><button>${label}</button></form>`;
  return layout('Billing portal', `<h1>Your subscription</h1><ul>${rows}</ul>${action('pay', 'Pay open invoices')}${action('fail', 'Fail the next renewal')}`);
}
