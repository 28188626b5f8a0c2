import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';

/**
 * The import rules that keep the kernel small: a plugin imports kernel/api, its own folder and
 * npm packages; kernel/api imports nothing of kernel/core; the kernel imports no plugin.
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

export function checkArchitecture(root: string): Violation[] {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const packages = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})]);
  const builtins = new Set(builtinModules);
  const violations: Violation[] = [];
  const rel = (p: string) => path.relative(root, p).split(path.sep).join('/');

  for (const file of [...walk(path.join(root, 'plugins')), ...walk(path.join(root, 'kernel'))]) {
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
        if (!(target === 'kernel/api' || target.startsWith('kernel/api/') || target === own || target.startsWith(`${own}/`))) {
          add('a plugin imports only kernel/api, its own folder and npm packages');
        }
      } else if (from.startsWith('kernel/api/')) {
        if (!target.startsWith('kernel/api')) add('kernel/api imports nothing outside itself');
      } else if (target.startsWith('plugins/')) {
        add('the kernel imports no plugin');
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
