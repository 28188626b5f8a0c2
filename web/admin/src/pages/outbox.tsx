import { AutoTable, Loaded, Section, listOf, useResource } from '../ui';

export function Outbox() {
  const outbox = useResource<any>('/api/admin/outbox?limit=100');
  return (
    <>
      <h1>Outbox</h1>
      <Section title="Notifications waiting or sent">
        <Loaded r={outbox}>{(body) => <AutoTable caption="Outbox" rows={listOf(body)} />}</Loaded>
      </Section>
    </>
  );
}
