import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';

/**
 * The import rules that keep the kernel small: a plugin's production code (what its index.ts
 * reaches) imports kernel/api, its own folder and npm packages; its tests (`*.test.ts`, and the
 * `testing/` files production does not reach) may import kernel/testing too. kernel/api imports
 * nothing outside itself; kernel/testing boots a kernel, so it may import kernel/core, and
 * kernel/core never imports kernel/testing; the kernel imports no plugin. The plugins under
 * test/fixtures (the second-type game type among them) are held to the plugins' rules: they
 * prove what a plugin can do through kernel/api alone.
 */
export interface Violation {
  file: string;
  specifier: string;
  rule: string;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|(?:^|[^.\w])(?:require|import)\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g;

export function importsOf(source: string): string[] {
  return [...source.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3]);
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return walk(p);
    return p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

/** The file a relative import names: `x.ts` or `x/index.ts`. */
function resolveSource(from: string, spec: string): string {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, path.join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return base;
}

/** Every file of a plugin its index.ts reaches through relative imports: its production code. */
function productionFiles(pluginDir: string): Set<string> {
  const reached = new Set<string>();
  const visit = (file: string) => {
    if (reached.has(file) || !file.startsWith(pluginDir + path.sep) || !existsSync(file)) return;
    reached.add(file);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) if (spec.startsWith('.')) visit(resolveSource(file, spec));
  };
  visit(path.join(pluginDir, 'index.ts'));
  return reached;
}

const under = (target: string, folder: string) => target === folder || target.startsWith(`${folder}/`);

export function checkArchitecture(root: string): Violation[] {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const packages = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})]);
  const builtins = new Set(builtinModules);
  const violations: Violation[] = [];
  const rel = (p: string) => path.relative(root, p).split(path.sep).join('/');

  const pluginRoots = ['plugins', 'test/fixtures'].map((dir) => path.join(root, dir)).filter((dir) => existsSync(dir));
  const pluginDirs = pluginRoots.flatMap((dir) => readdirSync(dir).map((name) => path.join(dir, name)).filter((p) => statSync(p).isDirectory()));
  const production = new Set(pluginDirs.flatMap((dir) => [...productionFiles(dir)]));
  /** The plugin folder a file belongs to (`plugins/x`, `test/fixtures/x`), if any. */
  const pluginOf = (from: string) => pluginDirs.map(rel).find((dir) => under(from, dir));

  for (const file of [...pluginRoots.flatMap(walk), ...walk(path.join(root, 'kernel'))]) {
    const from = rel(file);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const add = (rule: string) => violations.push({ file: from, specifier: spec, rule });
      if (!spec.startsWith('.')) {
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (!builtins.has(spec.replace(/^node:/, '')) && !spec.startsWith('node:') && !packages.has(name)) add('imports a package missing from package.json');
        continue;
      }
      const target = rel(path.resolve(path.dirname(file), spec));
      const own = pluginOf(from);
      if (own) {
        const allowed = under(target, 'kernel/api') || under(target, own);
        if (production.has(file)) {
          if (!allowed) add("a plugin's production code imports only kernel/api, its own folder and npm packages");
        } else if (!allowed && !under(target, 'kernel/testing')) {
          add("a plugin's tests import only kernel/api, kernel/testing, their own plugin's folder and npm packages");
        }
      } else if (from.startsWith('kernel/api/')) {
        if (!under(target, 'kernel/api')) add('kernel/api imports nothing outside itself');
      } else if (pluginOf(target)) {
        add('the kernel imports no plugin');
      } else if (from.startsWith('kernel/') && !from.startsWith('kernel/testing/') && under(target, 'kernel/testing')) {
        add('kernel/core never imports kernel/testing');
      }
    }
  }
  return violations;
}

if (require.main === module) {
  const root = path.resolve(__dirname, '..', '..', '..');
  const found = checkArchitecture(root);
  for (const v of found) console.error(`${v.file}: "${v.specifier}" — ${v.rule}`);
  console.log(found.length ? `${found.length} architecture violation(s)` : 'architecture: ok');
  process.exit(found.length ? 1 : 0);
}
