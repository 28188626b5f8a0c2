import { CronExpressionParser } from 'cron-parser';

/** Occurrences looked at to find the shortest gap (a day and more of a five-minute schedule). */
const SAMPLES = 400;

/** A time zone the runtime knows (IANA names: `Europe/Berlin`, `UTC`). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Why a cron expression is refused, or undefined when it is fine: 5 fields (minute precision), or
 * 6 (seconds first) where the configured minimum allows it; never more often than `minIntervalSeconds`.
 */
export function cronProblem(cron: string, tz: string, minIntervalSeconds: number, from = new Date()): string | undefined {
  const fields = cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) return 'must have 5 fields (minute hour day month weekday)';
  if (fields === 6 && minIntervalSeconds >= 60) return 'has a seconds field; schedules fire at most once a minute';
  let times: number[];
  try {
    times = CronExpressionParser.parse(cron, { tz, currentDate: from, strict: false }).take(SAMPLES).map((d) => d.getTime());
  } catch (err) {
    return `is not a cron expression (${(err as Error).message})`;
  }
  if (times.length === 0) return 'never fires';
  for (let i = 1; i < times.length; i++) {
    if ((times[i] - times[i - 1]) / 1000 < minIntervalSeconds) return `fires more often than every ${minIntervalSeconds} s`;
  }
  return undefined;
}

/** The next time the schedule fires after `from`, or null when it never does again. */
export function nextRun(cron: string, tz: string, from = new Date()): Date | null {
  try {
    return CronExpressionParser.parse(cron, { tz, currentDate: from }).next().toDate();
  } catch {
    return null;
  }
}
