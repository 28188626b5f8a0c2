import { readFileSync } from 'node:fs';

/** Jiffies of all cores from /proc/stat: total, and idle (idle + iowait); undefined off Linux. */
function cpuJiffies(): { total: number; idle: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { total: fields.reduce((s, v) => s + v, 0), idle: fields[3] + (fields[4] ?? 0) };
  } catch {
    return undefined;
  }
}

/**
 * Starts a reading of the whole machine's CPU; `busy()` is the share of all cores (0–1) used since
 * by anyone, neighbours included: near 1 means the run was short of CPU, not of anything else.
 */
export function machineCpu(): { busy(): number } {
  const start = cpuJiffies();
  return {
    busy() {
      const now = cpuJiffies();
      if (!start || !now || now.total === start.total) return NaN;
      return 1 - (now.idle - start.idle) / (now.total - start.total);
    },
  };
}

/** CPU time (user + system, ms) this process has used so far. */
export function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
