import { readFileSync } from 'node:fs';
import { median } from './stats';

/** Resident set size of a process in bytes (VmRSS from /proc), or undefined off Linux. */
export function rssBytes(pid: number = process.pid): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Median of a few RSS readings `gapMs` apart: one reading can land in the middle of a GC. */
export async function settledRss(pid: number, samples = 5, gapMs = 200): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < samples; i++) {
    if (i) await new Promise((r) => setTimeout(r, gapMs));
    const rss = rssBytes(pid);
    if (rss === undefined) throw new Error(`cannot read the RSS of pid ${pid} (/proc/${pid}/status)`);
    readings.push(rss);
  }
  return median(readings);
}

/** Samples a process's RSS every `everyMs`; `stop()` ends it and returns the highest reading. */
export function watchPeakRss(pid: number, everyMs = 50): { stop(): number } {
  let peak = rssBytes(pid) ?? 0;
  const timer = setInterval(() => { peak = Math.max(peak, rssBytes(pid) ?? 0); }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssBytes(pid) ?? 0);
    },
  };
}

export const mib = (bytes: number): number => bytes / 1024 / 1024;
