import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, ApiError } from './api';

export interface Resource<T> { data: T | null; error: ApiError | null; loading: boolean; reload(): void }

/** GET `path` (null: nothing yet); reloads when the path changes or on reload(). */
export function useResource<T = any>(path: string | null): Resource<T> {
  const [state, setState] = useState<{ data: T | null; error: ApiError | null; loading: boolean }>({ data: null, error: null, loading: !!path });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    api<T>(path).then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: null, error: error instanceof ApiError ? error : new ApiError(0, 'network', String(error)), loading: false }),
    );
    return () => { live = false; };
  }, [path, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** What a section shows while loading or when the route failed (404: this API does not offer it yet). */
export function Loaded<T>({ r, children }: { r: Resource<T>; children: (data: T) => ComponentChildren }) {
  if (r.error) {
    const text = r.error.status === 404 && r.error.code !== 'not_found' ? 'Not available on this server.' : r.error.message;
    return <p class="muted" role="status">{r.error.status === 404 ? 'Not available on this server.' : text}</p>;
  }
  if (!r.data) return <p class="muted" role="status">Loading…</p>;
  return <>{children(r.data)}</>;
}

export function Section({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return (
    <section aria-labelledby={id} class="card">
      <header class="card-head"><h2 id={id}>{title}</h2>{actions}</header>
      {children}
    </section>
  );
}

export const when = (at: unknown) => (typeof at === 'string' && at ? new Date(at).toLocaleString() : '—');
export const short = (id: unknown) => (typeof id === 'string' ? id.slice(0, 8) : '—');

export function Badge({ value }: { value: unknown }) {
  const text = value === true ? 'yes' : value === false ? 'no' : value === null || value === undefined || value === '' ? '—' : String(value);
  return <span class={`badge b-${text.replace(/[^a-z0-9_-]/gi, '')}`}>{text}</span>;
}

const cell = (v: unknown): ComponentChildren => {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'object') return <code>{JSON.stringify(v)}</code>;
  if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v)) return when(v);
  return String(v);
};

/** A table of whatever rows an admin list answers: its columns are the rows' keys. */
export function AutoTable({ rows, caption, actions }: { rows: Record<string, unknown>[]; caption: string; actions?: (row: any) => ComponentChildren }) {
  if (!rows.length) return <p class="muted">None.</p>;
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return (
    <div class="scroll" tabIndex={0} role="region" aria-label={caption}>
      <table>
        <caption class="sr-only">{caption}</caption>
        <thead><tr>{columns.map((c) => <th scope="col" key={c}>{c}</th>)}{actions && <th scope="col">Actions</th>}</tr></thead>
        <tbody>{rows.map((r, i) => (
          <tr key={String(r.id ?? i)}>{columns.map((c) => <td key={c}>{cell(r[c])}</td>)}{actions && <td>{actions(r)}</td>}</tr>
        ))}</tbody>
      </table>
    </div>
  );
}

/** The rows of a `{<plural>: [...], nextCursor}` answer, whatever the plural is called. */
export const listOf = (body: any): Record<string, unknown>[] => {
  if (Array.isArray(body)) return body;
  const key = Object.keys(body ?? {}).find((k) => Array.isArray(body[k]));
  return key ? body[key] : [];
};
