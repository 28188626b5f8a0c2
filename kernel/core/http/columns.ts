import { z } from 'zod';

/**
 * Zod pieces for values that end up in Postgres columns, so a request is refused with 400
 * instead of failing in the database with 500. (NUL and unpaired surrogates, which text and
 * jsonb refuse, are already turned away by the body parser.)
 */
const INT32_MIN = -(2 ** 31);
export const INT32_MAX = 2 ** 31 - 1;

/** An `int` column. */
export const int32 = () => z.number().int().min(INT32_MIN).max(INT32_MAX);

const EARLIEST = Date.UTC(2000, 0, 1);
const DAY_MS = 24 * 3600 * 1000;

/**
 * A `timestamptz` from a client clock: ISO text or epoch ms, within 2000-01-01 … now + 1 day.
 * Postgres holds far more, but an instant outside that window is a broken clock, not an event.
 */
export const eventTime = () => z.coerce.date().refine(
  (d) => d.getTime() >= EARLIEST && d.getTime() <= Date.now() + DAY_MS,
  'must lie between 2000-01-01 and one day from now',
);

/** Cuts text to at most `max` UTF-16 units without leaving half of a surrogate pair behind. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\ud800-\udbff]/.test(text[max - 1]) ? max - 1 : max;
  return text.slice(0, end);
}
