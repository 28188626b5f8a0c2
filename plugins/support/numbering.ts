import type { EntityManager } from 'typeorm';

/** The calendar day of `at` in `timeZone`, as YYYYMMDD. */
export function dayIn(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)!.value;
  return `${part('year')}${part('month')}${part('day')}`;
}

/**
 * The next ticket number of the day, `<prefix>-YYYYMMDD-XXXX`, taken inside the caller's
 * transaction: the counter row is locked until it commits, so concurrent tickets get 1, 2, 3 …
 * in commit order and a ticket that fails to insert gives its number back.
 */
export async function nextTicketNumber(m: EntityManager, prefix: string, at: Date, timeZone: string): Promise<string> {
  const day = dayIn(at, timeZone);
  const [{ last }]: Array<{ last: number }> = await m.query(
    `INSERT INTO support_ticket_counter (day, last) VALUES ($1, 1)
       ON CONFLICT (day) DO UPDATE SET last = support_ticket_counter.last + 1 RETURNING last`, [`${prefix}-${day}`]);
  return `${prefix}-${day}-${String(last).padStart(4, '0')}`;
}
