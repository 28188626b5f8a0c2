import { z } from 'zod';

const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, { message: 'must be an IANA time zone, e.g. UTC or America/Detroit' });

export const supportConfig = z.object({
  /** Tickets are numbered `<ticketPrefix>-YYYYMMDD-XXXX`. */
  ticketPrefix: z.string().regex(/^[A-Z][A-Z0-9]{0,9}$/).default('ZLH'),
  /** The day of a ticket number, and so when the counter restarts, is the day in this zone. */
  timeZone: timeZone.default('UTC'),
  subjectMaxChars: z.number().int().min(10).max(1000).default(200),
  messageMaxChars: z.number().int().min(100).max(100_000).default(10_000),
  /**
   * Tickets one account may open per hour (429 past it): each mails its text to the account's
   * address, which nobody verified, and alerts the support channel.
   */
  ticketsPerHour: z.number().int().min(1).max(10_000).default(10),
  /** The notepad's cap in UTF-8 bytes; a larger PUT /api/notes answers 413. */
  notesMaxBytes: z.number().int().min(1024).max(1024 * 1024).default(64 * 1024),
  /** Where customers' replies are emailed for the staff (besides the Discord support topic); empty sends none. */
  staffEmail: z.string().default(''),
});
export type SupportConfig = z.infer<typeof supportConfig>;
