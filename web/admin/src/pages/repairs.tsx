import { useState } from 'preact/hooks';
import { post } from '../api';
import { AutoTable, Loaded, Section, listOf, useResource } from '../ui';

/** Level 2 repairs wait for an operator's approval; everything else is shown as it happened. */
const awaitingApproval = (r: any) => Number(r.level) === 2 && !r.approvedAt && ['pending', 'proposed', 'awaiting_approval'].includes(String(r.state ?? r.status ?? 'pending'));

export function Repairs() {
  const repairs = useResource<any>('/api/admin/repairs?limit=100');
  const [note, setNote] = useState('');
  const approve = async (id: string) => {
    try {
      await post(`/api/admin/repairs/${id}/approve`);
      setNote(`Repair ${id.slice(0, 8)} approved`);
      repairs.reload();
    } catch (err) {
      setNote((err as Error).message);
    }
  };
  return (
    <>
      <h1>Repairs</h1>
      <Section title="Repair events">
        {note && <p role="status">{note}</p>}
        <Loaded r={repairs}>{(body) => (
          <AutoTable caption="Repair events" rows={listOf(body)}
            actions={(r) => (awaitingApproval(r) ? <button type="button" onClick={() => void approve(r.id)}>Approve</button> : null)} />
        )}</Loaded>
      </Section>
    </>
  );
}
