import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';

/**
 * The import rules that keep the kernel small: a plugin's production code (what its index.ts
 * reaches) imports kernel/api, its own folder and npm packages; its tests (`*.test.ts`, and the
 * `testing/` files production does not reach) may import kernel/testing too. kernel/api imports
 * nothing outside itself; kernel/testing boots a kernel, so it may import kernel/core, and
 * kernel/core never imports kernel/testing; the kernel imports no plugin.
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

  const pluginsDir = path.join(root, 'plugins');
  const production = new Set(readdirSync(pluginsDir).flatMap((name) => [...productionFiles(path.join(pluginsDir, name))]));

  for (const file of [...walk(pluginsDir), ...walk(path.join(root, 'kernel'))]) {
    const from = rel(file);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const add = (rule: string) => violations.push({ file: from, specifier: spec, rule });
      if (!spec.startsWith('.')) {
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (!builtins.has(spec.replace(/^node:/, '')) && !spec.startsWith('node:') && !packages.has(name)) add('imports a package missing from package.json');
        continue;
      }
      const target = rel(path.resolve(path.dirname(file), spec));
      if (from.startsWith('plugins/')) {
        const own = from.split('/').slice(0, 2).join('/');
        const allowed = under(target, 'kernel/api') || under(target, own);
        if (production.has(file)) {
          if (!allowed) add("a plugin's production code imports only kernel/api, its own folder and npm packages");
        } else if (!allowed && !under(target, 'kernel/testing')) {
          add("a plugin's tests import only kernel/api, kernel/testing, their own plugin's folder and npm packages");
        }
      } else if (from.startsWith('kernel/api/')) {
        if (!under(target, 'kernel/api')) add('kernel/api imports nothing outside itself');
      } else if (target.startsWith('plugins/')) {
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
