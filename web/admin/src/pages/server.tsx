import { lazy, Suspense } from 'preact/compat';
import { useEffect, useState } from 'preact/hooks';
import { events, post } from '../api';
import { AutoTable, Badge, Loaded, Section, listOf, useResource, when } from '../ui';

const Terminal = lazy(() => import('./terminal').then((m) => ({ default: m.ServerConsole })));

const bytes = (n: unknown) => (typeof n === 'number' ? `${(n / 1024 / 1024).toFixed(0)} MiB` : '—');

function Uptime({ id }: { id: string }) {
  const r = useResource<{ days: Array<{ date: string; uptimePercent: number | null }>; incidents: Array<{ startedAt: string; endedAt: string | null; cause: string }> }>(`/api/servers/${id}/uptime?days=30`);
  return (
    <Section title="Uptime (30 days)">
      <Loaded r={r}>{(u) => (
        <>
          <ol class="days" aria-label="Ready share per day">
            {u.days.map((d) => (
              <li key={d.date} title={`${d.date}: ${d.uptimePercent ?? 'no data'}${d.uptimePercent === null ? '' : ' %'}`}
                class={d.uptimePercent === null ? 'none' : d.uptimePercent >= 99.9 ? 'up' : d.uptimePercent >= 95 ? 'warn' : 'down'}>
                <span class="sr-only">{d.date}: {d.uptimePercent === null ? 'no data' : `${d.uptimePercent} %`}</span>
              </li>
            ))}
          </ol>
          <h3>Incidents</h3>
          {u.incidents.length ? (
            <table class="incidents">
              <caption class="sr-only">Incidents</caption>
              <thead><tr><th scope="col">Cause</th><th scope="col">Started</th><th scope="col">Ended</th><th scope="col">Duration</th></tr></thead>
              <tbody>{u.incidents.map((i) => (
                <tr key={i.startedAt + i.cause}>
                  <td><Badge value={i.cause} /></td><td>{when(i.startedAt)}</td><td>{i.endedAt ? when(i.endedAt) : 'ongoing'}</td>
                  <td>{i.endedAt ? `${Math.round((Date.parse(i.endedAt) - Date.parse(i.startedAt)) / 60000)} min` : '—'}</td>
                </tr>
              ))}</tbody>
            </table>
          ) : <p class="muted">None.</p>}
        </>
      )}</Loaded>
    </Section>
  );
}

export function Server({ id }: { id: string }) {
  const server = useResource<{ server: any }>(`/api/servers/${id}`);
  const status = useResource<any>(`/api/servers/${id}/status`);
  const resources = useResource<any>(`/api/servers/${id}/resources`);
  const crashes = useResource<any>(`/api/servers/${id}/crashes?limit=20`);
  const operations = useResource<any>('/api/admin/operations?limit=200');
  const activity = useResource<any>(`/api/servers/${id}/activity?limit=50`);
  const repairs = useResource<any>('/api/admin/repairs?limit=200');
  const [consoleOpen, setConsoleOpen] = useState(false);
  const [notice, setNotice] = useState('');

  // Live: this server's row changed somewhere in the fleet → read its status, operations and crashes again.
  useEffect(() => {
    const stop = new AbortController();
    void events('/api/admin/events', (event, data) => {
      if (event !== 'server' || data.id !== id) return;
      server.reload(); status.reload(); operations.reload(); crashes.reload();
    }, stop.signal);
    const poll = setInterval(() => { status.reload(); resources.reload(); }, 15_000);
    return () => { stop.abort(); clearInterval(poll); };
  }, [id]);

  const power = async (action: string) => {
    setNotice('');
    try {
      await post(`/api/servers/${id}/power`, { action });
      setNotice(`${action} sent`);
      status.reload();
    } catch (err) {
      setNotice((err as Error).message);
    }
  };
  const mine = (rows: Record<string, unknown>[]) => rows.filter((r) => r.instanceId === id || r.serverId === id);
  const s = server.data?.server;

  return (
    <>
      <p><a href="#/">← Fleet</a></p>
      <h1>{s ? `${s.name}` : 'Server'} <span class="muted">{s?.vmid ?? ''}</span></h1>
      <div class="grid">
        <Section title="Live status" actions={
          <span class="buttons">{['start', 'stop', 'restart', 'kill'].map((a) => <button type="button" key={a} onClick={() => void power(a)}>{a}</button>)}</span>
        }>
          {notice && <p role="status">{notice}</p>}
          <Loaded r={status}>{(st) => (
            <dl class="facts">
              <dt>State</dt><dd><Badge value={st.state} /></dd>
              <dt>Ready</dt><dd><Badge value={st.ready} /></dd>
              <dt>Agent ready</dt><dd><Badge value={st.agentReady} /></dd>
              <dt>Proxy</dt><dd><Badge value={st.proxy?.state} /> {st.proxy?.at ? when(st.proxy.at) : ''}</dd>
              <dt>Edge</dt><dd>{st.edge ? (st.edge.published ? `published ${edgeRecord(st.edge.record)}` : 'not published') : '—'}</dd>
              <dt>Billing</dt><dd><Badge value={st.billing?.state} /></dd>
              <dt>Node</dt><dd>{s?.node ?? '—'}</dd>
              <dt>Address</dt><dd>{s?.connect ? `${s.connect.host}:${s.connect.port}` : '—'}</dd>
              <dt>Created</dt><dd>{when(s?.createdAt)}</dd>
            </dl>
          )}</Loaded>
        </Section>
        <Section title="Resources">
          <Loaded r={resources}>{(r) => (
            <dl class="facts">
              <dt>CPU</dt><dd>{r.cpuPercent ?? '—'} %</dd>
              <dt>Memory</dt><dd>{bytes(r.memoryBytes)} / {bytes(r.memoryLimitBytes)}</dd>
              <dt>Disk</dt><dd>{bytes(r.diskBytes)}</dd>
              <dt>Players</dt><dd>{r.players ? `${r.players.online} / ${r.players.max}` : '—'}</dd>
              <dt>Uptime</dt><dd>{r.uptimeSeconds ?? '—'} s</dd>
            </dl>
          )}</Loaded>
        </Section>
      </div>
      <Section title="Console" actions={!consoleOpen && <button type="button" onClick={() => setConsoleOpen(true)}>Open console</button>}>
        {consoleOpen ? <Suspense fallback={<p role="status">Loading terminal…</p>}><Terminal id={id} /></Suspense> : <p class="muted">Closed.</p>}
      </Section>
      <Uptime id={id} />
      <Section title="Crash history">
        <Loaded r={crashes}>{(c) => <AutoTable caption="Crash reports" rows={listOf(c).map(({ logTail, ...rest }) => rest)} />}</Loaded>
      </Section>
      <Section title="Operations">
        <Loaded r={operations}>{(o) => <AutoTable caption="Operations on this server" rows={mine(listOf(o)).map(({ checkpoint, ...rest }) => rest)} />}</Loaded>
      </Section>
      <Section title="Activity">
        <Loaded r={activity}>{(a) => <AutoTable caption="Activity" rows={listOf(a)} />}</Loaded>
      </Section>
      <Section title="Repair events">
        <Loaded r={repairs}>{(rp) => <AutoTable caption="Repair events on this server" rows={mine(listOf(rp))} />}</Loaded>
      </Section>
    </>
  );
}

/** The published SRV record as an operator reads it: name → target:port (the status holds the record object). */
function edgeRecord(record: { name?: string; target?: string; port?: number } | null | undefined): string {
  return record?.name ? `${record.name} → ${record.target}:${record.port}` : '';
}
