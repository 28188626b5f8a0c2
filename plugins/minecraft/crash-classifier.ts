import type { CrashClass, CrashInfo } from '../../kernel/api';

/** Most specific first: an OOM often also logs a mod's stack trace. */
const PATTERNS: Array<[CrashClass, RegExp]> = [
  ['oom', /OutOfMemoryError|Out of memory|oom-kill|Killed process \d+|GC overhead limit exceeded|Cannot allocate memory/i],
  ['missing_dependency', /requires (?:mod |any version of )?\S+.* which is missing|Missing (?:mod )?dependenc|Unknown\/missing dependency|NoClassDefFoundError|ClassNotFoundException|Could not find required mod/i],
  ['mod_or_plugin_error', /Error occurred while enabling|Could not load (?:plugin|'plugins)|Mod \S+ has failed|Mixin .* failed|failed to load mod|Exception caught during firing event|Encountered an unexpected exception|Error loading plugin/i],
];

export function classifyMinecraftCrash(crash: CrashInfo): CrashClass {
  const tail = crash.logTail.join('\n');
  if (crash.signal === 'SIGKILL' && crash.exitCode === 137) return 'oom';
  for (const [cls, re] of PATTERNS) if (re.test(tail)) return cls;
  if (crash.exitCode !== null && crash.exitCode !== 0) return 'nonzero_exit';
  return 'unexpected_exit';
}
