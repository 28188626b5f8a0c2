import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { distRoot, projectRoot } from '../../kernel/testing';

/**
 * `zpack <args…>` in a child process, configured by `config` written to a YAML file (ZPACK_CONFIG),
 * with the operator variables cleared so nothing from the caller's environment overrides it.
 */
export function runZpack(config: object, ...args: string[]): Promise<{ code: number | null; out: string }> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'zpack-cli-')), 'zpack.yaml');
  writeFileSync(file, stringify({ ...config, logging: { level: 'silent' } }));
  const env: NodeJS.ProcessEnv = { ...process.env, ZPACK_CONFIG: file };
  for (const k of ['PORT', 'DATABASE_URL', 'REDIS_URL', 'ZPACK_ROLE']) delete env[k];
  const child = spawn(process.execPath, [path.join(distRoot, 'kernel', 'main.js'), ...args], { env, cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out })));
}
