import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { api, events } from '../api';
import { Badge, Section, short } from '../ui';

interface Row { id: string; name: string; type: string; kind: string; state: string; node: string | null; vmid: number | null; ownerId: string }
interface Status { ready?: boolean; proxy?: { state?: string }; edge?: { published?: boolean }; billing?: { state?: string } }
const STATES = ['', 'provisioning', 'running', 'stopped', 'crashed', 'error', 'deleting'];

/** Runs `work` over `items`, a few at a time, so a page of statuses does not flood the API. */
async function few<T>(items: T[], work: (item: T) => Promise<void>, width = 6): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await work(items[next++]).catch(() => undefined);
  }));
}

interface Filters { state: string; type: string; limit: number }
const FIRST: Filters = { state: '', type: '', limit: 50 };

/** The admin list of servers a page of the fleet shows: `cursor` absent for the first page. */
export function fleetPath(filters: Filters = FIRST, cursor?: string): string {
  const q = new URLSearchParams({ limit: String(filters.limit) });
  if (filters.state) q.set('state', filters.state);
  if (filters.type) q.set('type', filters.type);
  if (cursor) q.set('cursor', cursor);
  return `/api/admin/servers?${q}`;
}

export function Fleet() {
  const [filters, setFilters] = useState(FIRST);
  const [cursors, setCursors] = useState<string[]>([]);
  const [page, setPage] = useState<{ rows: Row[]; next: string | null } | null>(null);
  const [error, setError] = useState('');
  const [search, setSearch] = useState('');
  const [owners, setOwners] = useState<Record<string, string>>({});
  const [statuses, setStatuses] = useState<Record<string, Status>>({});
  const [tick, setTick] = useState(0);
  const rowsRef = useRef<Row[]>([]);

  const loadStatus = (rows: Row[]) => few(rows, async (r) => {
    const s = await api<Status>(`/api/servers/${r.id}/status`);
    setStatuses((all) => ({ ...all, [r.id]: s }));
  });

  // A layout effect: it runs before the first frame, so the rows are asked for (or the request
  // started at load is taken over) without waiting for "Loading…" to be painted first.
  useLayoutEffect(() => {
    let live = true;
    api<{ servers: Row[]; nextCursor: string | null }>(fleetPath(filters, cursors.at(-1))).then((body) => {
      if (!live) return;
      rowsRef.current = body.servers;
      setPage({ rows: body.servers, next: body.nextCursor });
      setError('');
      // After this frame is painted: the statuses fill in behind the rows.
      requestAnimationFrame(() => setTimeout(() => void loadStatus(body.servers), 0));
    }, (err) => live && setError(err.message));
    return () => { live = false; };
  }, [filters, cursors, tick]);

  // Owners' emails and the live stream wait for the first page: it is what the operator looks at first.
  const firstPage = page !== null;
  useEffect(() => {
    if (!firstPage) return;
    api<{ users: Array<{ id: string; email: string }> }>('/api/admin/users?limit=200').then(
      (body) => setOwners(Object.fromEntries(body.users.map((u) => [u.id, u.email]))), () => undefined);
  }, [firstPage]);

  // Live: a changed row is patched in place (and its status re-read); an unknown one reloads the page.
  useEffect(() => {
    if (!firstPage) return;
    const stop = new AbortController();
    let reload: ReturnType<typeof setTimeout> | undefined;
    void events('/api/admin/events', (event, data) => {
      if (event !== 'server') return;
      const row = rowsRef.current.find((r) => r.id === data.id);
      if (!row) {
        clearTimeout(reload);
        reload = setTimeout(() => setTick((t) => t + 1), 500);
        return;
      }
      rowsRef.current = rowsRef.current.map((r) => (r.id === data.id ? { ...r, state: data.state, node: data.node } : r));
      setPage((p) => p && { ...p, rows: rowsRef.current.filter((r) => !(r.id === data.id && data.deleted)) });
      void loadStatus([row]);
    }, stop.signal);
    return () => { stop.abort(); clearTimeout(reload); };
  }, [firstPage]);

  const change = (patch: Partial<typeof filters>) => { setCursors([]); setFilters((f) => ({ ...f, ...patch })); };
  const needle = search.trim().toLowerCase();
  const rows = (page?.rows ?? []).filter((r) => !needle || r.name.toLowerCase().includes(needle) || (owners[r.ownerId] ?? r.ownerId).toLowerCase().includes(needle)
    || String(r.vmid ?? '').includes(needle));

  return (
    <>
      <h1>Fleet</h1>
      <Section title="Servers">
        <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
          <label>State
            <select value={filters.state} onChange={(e) => change({ state: (e.target as HTMLSelectElement).value })}>
              {STATES.map((s) => <option key={s} value={s}>{s || 'any'}</option>)}
            </select>
          </label>
          <label>Type<input value={filters.type} placeholder="any" onChange={(e) => change({ type: (e.target as HTMLInputElement).value.trim() })} /></label>
          <label>Search this page<input type="search" value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} /></label>
          <label>Per page
            <select value={filters.limit} onChange={(e) => change({ limit: Number((e.target as HTMLSelectElement).value) })}>
              {[25, 50, 100, 200].map((n) => <option key={n} value={n}>{n}</option>)}
            </select>
          </label>
        </form>
        {error && <p class="error" role="alert">{error}</p>}
        {!page ? <p class="muted" role="status">Loading…</p> : (
          <div class="scroll" tabIndex={0} role="region" aria-label="Servers">
            <table id="fleet">
              <caption class="sr-only">Servers, oldest first</caption>
              <thead><tr>
                {['Name', 'Owner', 'Type', 'State', 'Node', 'Ready', 'Proxy', 'Edge', 'Billing'].map((h) => <th scope="col" key={h}>{h}</th>)}
              </tr></thead>
              <tbody>{rows.map((r) => {
                const s = statuses[r.id];
                return (
                  <tr key={r.id} data-server={r.id}>
                    <td><a href={`#/servers/${r.id}`}>{r.name}</a> <span class="muted">{r.vmid ?? ''}</span></td>
                    <td>{owners[r.ownerId] ?? short(r.ownerId)}</td>
                    <td>{r.kind}/{r.type}</td>
                    <td><Badge value={r.state} /></td>
                    <td>{r.node ?? '—'}</td>
                    <td>{s ? <Badge value={s.ready} /> : '…'}</td>
                    <td>{s ? <Badge value={s.proxy?.state} /> : '…'}</td>
                    <td>{s ? <Badge value={s.edge ? (s.edge.published ? 'published' : 'unpublished') : undefined} /> : '…'}</td>
                    <td>{s ? <Badge value={s.billing?.state} /> : '…'}</td>
                  </tr>
                );
              })}</tbody>
            </table>
          </div>
        )}
        <nav class="pager" aria-label="Pages">
          <button type="button" disabled={!cursors.length} onClick={() => setCursors((c) => c.slice(0, -1))}>Previous</button>
          <span>Page {cursors.length + 1}</span>
          <button type="button" disabled={!page?.next} onClick={() => page?.next && setCursors((c) => [...c, page.next!])}>Next</button>
        </nav>
      </Section>
    </>
  );
}
