import { useState } from 'preact/hooks';
import { patch } from '../api';
import { Loaded, Section, useResource, when } from '../ui';

interface User { id: string; email: string; role: 'user' | 'admin'; billingExempt: boolean; maxInstances: number | null; plan?: string | null; createdAt?: string }

function UserRow({ user, saved }: { user: User; saved(): void }) {
  const [draft, setDraft] = useState({ role: user.role, billingExempt: user.billingExempt, maxInstances: user.maxInstances });
  const [note, setNote] = useState('');
  const dirty = draft.role !== user.role || draft.billingExempt !== user.billingExempt || draft.maxInstances !== user.maxInstances;
  const save = async () => {
    try {
      await patch(`/api/admin/users/${user.id}`, draft);
      setNote('saved');
      saved();
    } catch (err) {
      setNote((err as Error).message);
    }
  };
  const label = (what: string) => `${what} of ${user.email}`;
  return (
    <tr>
      <td>{user.email}</td>
      <td>
        <select aria-label={label('Role')} value={draft.role} onChange={(e) => setDraft({ ...draft, role: (e.target as HTMLSelectElement).value as User['role'] })}>
          <option value="user">user</option><option value="admin">admin</option>
        </select>
      </td>
      <td><input type="number" min={0} max={10000} aria-label={label('Quota (max servers)')} placeholder="default" value={draft.maxInstances ?? ''}
        onChange={(e) => { const v = (e.target as HTMLInputElement).value; setDraft({ ...draft, maxInstances: v === '' ? null : Number(v) }); }} /></td>
      <td><input type="checkbox" aria-label={label('Billing exempt')} checked={draft.billingExempt}
        onChange={(e) => setDraft({ ...draft, billingExempt: (e.target as HTMLInputElement).checked })} /></td>
      <td>{user.plan ?? '—'}</td>
      <td>{when(user.createdAt)}</td>
      <td><button type="button" disabled={!dirty} onClick={() => void save()}>Save</button> <span role="status">{note}</span></td>
    </tr>
  );
}

export function Users() {
  const [cursors, setCursors] = useState<string[]>([]);
  const [role, setRole] = useState('');
  const q = new URLSearchParams({ limit: '50' });
  if (role) q.set('role', role);
  if (cursors.length) q.set('cursor', cursors[cursors.length - 1]);
  const users = useResource<{ users: User[]; nextCursor: string | null }>(`/api/admin/users?${q}`);
  return (
    <>
      <h1>Users</h1>
      <Section title="Accounts">
        <form class="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
          <label>Role
            <select value={role} onChange={(e) => { setCursors([]); setRole((e.target as HTMLSelectElement).value); }}>
              <option value="">any</option><option value="user">user</option><option value="admin">admin</option>
            </select>
          </label>
        </form>
        <Loaded r={users}>{(body) => (
          <div class="scroll" tabIndex={0} role="region" aria-label="Accounts">
            <table id="users">
              <caption class="sr-only">Accounts, oldest first</caption>
              <thead><tr>{['Email', 'Role', 'Quota', 'Billing exempt', 'Plan', 'Created', 'Actions'].map((h) => <th scope="col" key={h}>{h}</th>)}</tr></thead>
              <tbody>{body.users.map((u) => <UserRow key={u.id} user={u} saved={users.reload} />)}</tbody>
            </table>
          </div>
        )}</Loaded>
        <nav class="pager" aria-label="Pages">
          <button type="button" disabled={!cursors.length} onClick={() => setCursors((c) => c.slice(0, -1))}>Previous</button>
          <button type="button" disabled={!users.data?.nextCursor} onClick={() => setCursors((c) => [...c, users.data!.nextCursor!])}>Next</button>
        </nav>
      </Section>
    </>
  );
}
