import { CRASH_LOG_TAIL } from '../../kernel/api';
import type { CrashClass, CrashInfo } from '../../kernel/api';

/**
 * A sign of a crash class in one log line: fragments that must appear in this order, compared
 * without case. Plain substring searches, never regular expressions, so classifying is linear
 * in the tail whatever an agent (or a mod writing to the log) puts in it.
 */
export interface CrashSignal {
  classification: CrashClass;
  fragments: readonly string[];
}

const signals = (classification: CrashClass, ...lists: Array<readonly string[]>): CrashSignal[] =>
  lists.map((fragments) => ({ classification, fragments: fragments.map((f) => f.toLowerCase()) }));

/** Most specific first: an OOM often also logs a mod's stack trace. */
export const MINECRAFT_CRASH_SIGNALS: readonly CrashSignal[] = [
  ...signals('oom',
    ['OutOfMemoryError'], ['Out of memory'], ['oom-kill'], ['Killed process '], ['GC overhead limit exceeded'], ['Cannot allocate memory']),
  ...signals('missing_dependency',
    // "Mod 'Iris' (iris) 1.7.0 requires any version of sodium, which is missing!"
    ['requires ', ' which is missing'], ['Missing dependenc'], ['Missing mod dependenc'], ['Unknown/missing dependency'],
    ['NoClassDefFoundError'], ['ClassNotFoundException'], ['Could not find required mod']),
  ...signals('mod_or_plugin_error',
    ['Error occurred while enabling'], ['Could not load plugin'], ["Could not load 'plugins"], ['Mod ', ' has failed'],
    ['Mixin ', ' failed'], ['failed to load mod'], ['Exception caught during firing event'], ['Encountered an unexpected exception'],
    ['Error loading plugin']),
];

export function classifyMinecraftCrash(crash: CrashInfo): CrashClass {
  if (crash.signal === 'SIGKILL' && crash.exitCode === 137) return 'oom';
  // The kernel trims the tail already; the bound is repeated here so the classifier is safe on its own.
  const lines = crash.logTail.slice(-CRASH_LOG_TAIL.maxLines).map((l) => l.slice(0, CRASH_LOG_TAIL.maxLineChars).toLowerCase());
  for (const signal of MINECRAFT_CRASH_SIGNALS) {
    if (lines.some((line) => shows(line, signal.fragments))) return signal.classification;
  }
  if (crash.exitCode !== null && crash.exitCode !== 0) return 'nonzero_exit';
  return 'unexpected_exit';
}

/** True when every fragment occurs in the line, each after the one before. */
function shows(line: string, fragments: readonly string[]): boolean {
  let from = 0;
  for (const fragment of fragments) {
    const at = line.indexOf(fragment, from);
    if (at < 0) return false;
    from = at + fragment.length;
  }
  return true;
}
