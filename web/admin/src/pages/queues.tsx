import { useEffect } from 'preact/hooks';
import { AutoTable, Loaded, Section, listOf, useResource } from '../ui';

/** A queue whose oldest waiting job has waited longer than this is shown as stale. */
const STALE_SECONDS = 60;

export function Queues() {
  const queues = useResource<any>('/api/admin/queues');
  useEffect(() => {
    const poll = setInterval(queues.reload, 5000);
    return () => clearInterval(poll);
  }, []);
  return (
    <>
      <h1>Queues</h1>
      <Section title="Depth and staleness">
        <Loaded r={queues}>{(q) => (
          <AutoTable caption="Queues" rows={listOf(q).map((row) => {
            const waited = Number(row.oldestWaitingSeconds ?? 0);
            return { ...row, staleness: row.stale ?? (waited > STALE_SECONDS ? `stale (${Math.round(waited)} s)` : 'fresh') };
          })} />
        )}</Loaded>
      </Section>
    </>
  );
}
