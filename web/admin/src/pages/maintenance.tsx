import { useState } from 'preact/hooks';
import { post } from '../api';
import { AutoTable, Loaded, Section, listOf, useResource } from '../ui';

export function Maintenance() {
  const windows = useResource<any>('/api/admin/maintenance?limit=100');
  const [note, setNote] = useState('');
  const schedule = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const f = new FormData(form);
    try {
      await post('/api/admin/maintenance', {
        scope: String(f.get('scope') || 'fleet'),
        startsAt: new Date(String(f.get('startsAt'))).toISOString(),
        endsAt: new Date(String(f.get('endsAt'))).toISOString(),
        message: String(f.get('message')),
      });
      form.reset();
      setNote('Window scheduled');
      windows.reload();
    } catch (err) {
      setNote((err as Error).message);
    }
  };
  return (
    <>
      <h1>Maintenance windows</h1>
      <Section title="Schedule a window">
        <form class="stack" onSubmit={schedule}>
          <label>Scope (a node name, or fleet)<input name="scope" placeholder="fleet" /></label>
          <label>Starts<input name="startsAt" type="datetime-local" required /></label>
          <label>Ends<input name="endsAt" type="datetime-local" required /></label>
          <label>Message<input name="message" required /></label>
          <button type="submit">Schedule</button> <span role="status">{note}</span>
        </form>
      </Section>
      <Section title="Windows">
        <Loaded r={windows}>{(body) => <AutoTable caption="Maintenance windows" rows={listOf(body)} />}</Loaded>
      </Section>
    </>
  );
}
