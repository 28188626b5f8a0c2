import { CRASH_LOG_TAIL } from '../../kernel/api';
import type { CrashCulprit, CrashInfo } from '../../kernel/api';

/** A name as logs print it: letters, digits and a few separators, short. */
const NAME = /^[A-Za-z0-9_.+-]{1,64}$/;

const between = (line: string, open: string, close: string, from = 0): string | undefined => {
  const a = line.indexOf(open, from);
  if (a < 0) return undefined;
  const b = line.indexOf(close, a + open.length);
  return b < 0 ? undefined : line.slice(a + open.length, b);
};
const lastWord = (text: string): string => text.slice(text.lastIndexOf(' ') + 1);
const named = (name: string | undefined): string | undefined => (name !== undefined && NAME.test(name) ? name : undefined);

/**
 * Readers of the lines Fabric, Forge/NeoForge and Paper print when a mod or plugin fails, each
 * by plain substring search (linear in the line, whatever a mod writes to the log).
 */
const READERS: Array<(line: string) => CrashCulprit | undefined> = [
  // Fabric: "Mod 'Iris' (iris) 1.7.0 requires any version of sodium, which is missing!"
  (line) => {
    const at = line.indexOf("Mod '");
    if (at < 0 || line.indexOf(', which is missing', at) < 0) return undefined;
    const id = named(between(line, '(', ')', at));
    const wants = between(line, ' requires ', ', which is missing', at);
    const missing = wants === undefined ? undefined : named(lastWord(wants));
    return id ? { name: id, ...(missing ? { missing } : {}) } : undefined;
  },
  // Forge/NeoForge: "Mod ID: 'architectury', Requested by: 'rei', Expected range: …"
  (line) => {
    const missing = named(between(line, "Mod ID: '", "'"));
    const by = named(between(line, "Requested by: '", "'"));
    return missing && by ? { name: by, missing } : undefined;
  },
  // Paper: "Error occurred while enabling Essentials v2.20.1 (Is it up to date?)"
  (line) => {
    const rest = between(line, 'Error occurred while enabling ', ' v');
    const name = named(rest);
    return name ? { name } : undefined;
  },
  // Paper: "Could not load 'plugins/Foo.jar' in folder 'plugins'"
  (line) => {
    const file = between(line, "Could not load '", "'");
    const name = file === undefined ? undefined : named(file.slice(file.lastIndexOf('/') + 1));
    return name ? { name } : undefined;
  },
  // Mixins: "Mixin apply for mod sodium failed …", "Mixin [x.mixins.json:Foo] from mod sodium failed …"
  (line) => {
    if (line.indexOf('Mixin ') < 0) return undefined;
    const name = named(between(line, ' for mod ', ' ')) ?? named(between(line, ' from mod ', ' '));
    return name ? { name } : undefined;
  },
  // Forge/NeoForge: "Failed to load mod 'create'" / Fabric: "Mod lithium has failed to load"
  (line) => {
    const name = named(between(line, "ailed to load mod '", "'")) ?? named(between(line, 'Mod ', ' has failed'));
    return name ? { name } : undefined;
  },
];

/** The mod or plugin the newest telling line of the log tail blames, if any. */
export function minecraftCrashCulprit(crash: CrashInfo): CrashCulprit | null {
  const lines = crash.logTail.slice(-CRASH_LOG_TAIL.maxLines);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i].slice(0, CRASH_LOG_TAIL.maxLineChars);
    for (const read of READERS) {
      const found = read(line);
      if (found) return found;
    }
  }
  return null;
}
