import type { EntityManager } from 'typeorm';

/** The calendar day of `at` in `timeZone`, as YYYYMMDD. */
export function dayIn(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)!.value;
  return `${part('year')}${part('month')}${part('day')}`;
}

/**
 * The next ticket number of the day, `<prefix>-YYYYMMDD-XXXX`: one upsert that increments the
 * day's counter row and returns it, so concurrent tickets get 1, 2, 3 … and never the same one.
 * It runs on its own (the row lock lasts one statement); a ticket that then fails to insert
 * leaves a gap in the day's numbers rather than holding every other ticket up.
 */
export async function nextTicketNumber(m: EntityManager, prefix: string, at: Date, timeZone: string): Promise<string> {
  const day = dayIn(at, timeZone);
  const [{ last }]: Array<{ last: number }> = await m.query(
    `INSERT INTO support_ticket_counter (day, last) VALUES ($1, 1)
       ON CONFLICT (day) DO UPDATE SET last = support_ticket_counter.last + 1 RETURNING last`, [`${prefix}-${day}`]);
  return `${prefix}-${day}-${String(last).padStart(4, '0')}`;
}
