import { useState } from 'preact/hooks';
import { post } from '../api';
import { AutoTable, Loaded, Section, listOf, useResource, when } from '../ui';

function Ticket({ id }: { id: string }) {
  const ticket = useResource<any>(`/api/admin/support/tickets/${id}`);
  const [note, setNote] = useState('');
  const reply = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const message = String(new FormData(form).get('message') ?? '').trim();
    if (!message) return;
    try {
      await post(`/api/support/tickets/${id}/messages`, { message });
      form.reset();
      setNote('Reply sent');
      ticket.reload();
    } catch (err) {
      setNote((err as Error).message);
    }
  };
  return (
    <Loaded r={ticket}>{(body) => {
      const t = body.ticket ?? body;
      const messages: any[] = t.messages ?? body.messages ?? [];
      return (
        <article class="ticket">
          <h3>{t.number} — {t.subject}</h3>
          <ol class="messages">{messages.map((m, i) => (
            <li key={m.id ?? i}><strong>{m.author?.email ?? m.authorRole ?? m.from ?? 'message'}</strong> <span class="muted">{when(m.createdAt ?? m.at)}</span><p>{m.message ?? m.body ?? m.text}</p></li>
          ))}</ol>
          <form onSubmit={reply}>
            <label>Reply<textarea name="message" rows={3} required /></label>
            <button type="submit">Send reply</button> <span role="status">{note}</span>
          </form>
        </article>
      );
    }}</Loaded>
  );
}

export function Tickets() {
  const tickets = useResource<any>('/api/admin/support/tickets?limit=100');
  const [open, setOpen] = useState<string | null>(null);
  return (
    <>
      <h1>Support tickets</h1>
      <Section title="Tickets">
        <Loaded r={tickets}>{(body) => (
          <AutoTable caption="Support tickets" rows={listOf(body).map(({ messages, ...t }) => t)}
            actions={(t) => <button type="button" onClick={() => setOpen(t.id)}>Open</button>} />
        )}</Loaded>
      </Section>
      {open && <Section title="Ticket"><Ticket id={open} /></Section>}
    </>
  );
}
