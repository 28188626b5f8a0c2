import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { projectRoot, startTestKernel, type TestKernel, type TestUser } from '../harness';
import { startFleet, startFleetKernel, type Fleet } from '../provisioning/fixture';
import { everyPlugin } from './every-plugin';

const run = promisify(execFile);
const workspace = path.join(projectRoot, 'tools', 'api-client');
/** A package as the workspace resolves it: its own TypeScript 5 (openapi-typescript needs its API), not the root's 7. */
const packageDir = (pkg: string) =>
  [path.join(workspace, 'node_modules', pkg), path.join(projectRoot, 'node_modules', pkg)].find((dir) => existsSync(dir))!;
const bin = (pkg: string, file: string) => path.join(packageDir(pkg), file);
/** The code alone: comments and string literals may say "as" or "any" freely. */
const codeOf = (source: string) => source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '').replace(/`[^`]*`|'[^']*'|"[^"]*"/g, '""');
const node = (script: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, [script, ...args], { cwd: workspace, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });

/**
 * Warnings of Redocly's recommended rules the document keeps on purpose: a WebSocket answers 101
 * (no 2xx), and with one game type enabled the create body is a oneOf of one variant.
 */
const ACCEPTED_WARNINGS = [
  'operation-2xx-response #/paths/~1api~1servers~1{id}~1console/get/responses',
  'operation-2xx-response #/paths/~1api~1game~1servers~1{id}~1console/get/responses',
  'no-illogical-composition-keywords #/paths/~1api~1instances/post/requestBody/content/application~1json/schema/oneOf',
];
/** With every plugin: the IDE bootstrap answers 302 (a redirect, no 2xx) and the create body has a variant per type. */
const ACCEPTED_WARNINGS_EVERY_PLUGIN = [
  ...ACCEPTED_WARNINGS.slice(0, 2),
  'operation-2xx-response #/paths/~1api~1dev~1{id}~1ide/get/responses',
];

/** Lints a document with Redocly's recommended rules: its errors and the warnings not accepted. */
async function lint(file: string, accepted: string[]): Promise<{ errors: number; found: string[]; unexpected: string[] }> {
  const { stdout } = await node(bin('@redocly/cli', 'bin/cli.js'), ['lint', file, '--format=json'], {
    REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
  }).catch((err) => ({ stdout: String(err.stdout) }));
  const report = JSON.parse(stdout.slice(stdout.indexOf('{')));
  const found: string[] = report.problems.map((p: any) => `${p.ruleId} ${p.location[0].pointer}`);
  return { errors: report.totals.errors, found, unexpected: found.filter((w) => !accepted.includes(w)) };
}

describe('A portal client generated from GET /api/openapi.json (openapi-typescript + openapi-fetch)', function () {
  this.timeout(180_000);
  let fleet: Fleet;
  let tk: TestKernel;
  let user: TestUser;
  let dir: string;

  before(async () => {
    fleet = await startFleet();
    tk = await startFleetKernel(fleet);
    user = await tk.user();
    // Inside the workspace, so the copy of the script resolves openapi-fetch as the original does.
    dir = await mkdtemp(path.join(workspace, '.check-'));
    await mkdir(path.join(dir, 'generated'));
    await writeFile(path.join(dir, 'generated', 'openapi.json'), (await tk.http.get('/api/openapi.json')).text);
    await cp(path.join(workspace, 'src'), path.join(dir, 'src'), { recursive: true });
    await writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify({
      extends: '../tsconfig.json', compilerOptions: { outDir: 'out', rootDir: '.' }, include: ['src/**/*.ts', 'generated/**/*.ts'],
    }));
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    await tk?.stop();
    await fleet?.stop();
  });

  it('generates typings from the document the kernel serves', async () => {
    await node(bin('openapi-typescript', 'bin/cli.js'), [path.join(dir, 'generated', 'openapi.json'), '-o', path.join(dir, 'generated', 'api.d.ts')]);
    const typings = await readFile(path.join(dir, 'generated', 'api.d.ts'), 'utf8');
    expect(typings).to.include('createInstance: {').and.to.include('"Idempotency-Key": string;');
  });

  it('compiles the example script with tsc --strict, and the script holds no cast', async () => {
    const source = await readFile(path.join(workspace, 'src', 'portal-example.ts'), 'utf8');
    expect(codeOf(source)).not.to.match(/\bas\s+(?!const\b)[A-Za-z{[(]|<[A-Za-z]+>\s*[a-z(]|\bany\b|[\w)\]]!\./);
    const { version } = JSON.parse(await readFile(bin('typescript', 'package.json'), 'utf8'));
    expect(version).to.equal('5.9.3');
    await node(bin('typescript', 'bin/tsc'), ['-p', path.join(dir, 'tsconfig.json'), '--strict']).catch((err) => {
      throw new Error(`tsc failed:\n${err.stdout}${err.stderr}`);
    });
  });

  it('runs against the kernel: logs in, creates a server, lists servers, reads a file and deletes the server', async () => {
    const { stdout } = await node(path.join(dir, 'out', 'src', 'portal-example.js'), [], {
      ZPACK_URL: tk.url, ZPACK_EMAIL: user.email, ZPACK_PASSWORD: user.password,
    }).catch((err) => {
      throw new Error(`the example failed:\n${err.stdout}${err.stderr}`);
    });
    const serverId = /created server (\S+)/.exec(stdout)?.[1];
    expect(stdout).to.include(`logged in as ${user.email}`).and.to.match(/ours is running/)
      .and.to.include('read server.properties').and.to.include(`deleted server ${serverId}`);
    expect((await user.http.get(`/api/servers/${serverId}`)).status).to.equal(404);
  });

  it('passes Redocly’s recommended rules, keeping only the warnings accepted on purpose', async () => {
    const { errors, found, unexpected } = await lint(path.join(dir, 'generated', 'openapi.json'), ACCEPTED_WARNINGS);
    expect(errors, found.join('\n')).to.equal(0);
    expect(unexpected).to.deep.equal([]);
  });

  describe('from the document with every plugin enabled (billing, support, mods, dev containers, proxy, edge …)', () => {
    let full: string;

    before(async () => {
      const everything = await startTestKernel({ config: { plugins: everyPlugin() } });
      try {
        full = path.join(dir, 'generated', 'every-plugin.json');
        await writeFile(full, (await everything.http.get('/api/openapi.json')).text);
      } finally {
        await everything.stop();
      }
    });

    it('generates typings that compile beside the example, with the plugin routes typed', async () => {
      await node(bin('openapi-typescript', 'bin/cli.js'), [full, '-o', path.join(dir, 'generated', 'api.d.ts')]);
      const typings = await readFile(path.join(dir, 'generated', 'api.d.ts'), 'utf8');
      expect(typings).to.include('createSupportTicket: {').and.to.include('getServerStatus: {').and.to.include('installServerMod: {');
      await node(bin('typescript', 'bin/tsc'), ['-p', path.join(dir, 'tsconfig.json'), '--strict', '--noEmit']).catch((err) => {
        throw new Error(`tsc failed:\n${err.stdout}${err.stderr}`);
      });
    });

    it('passes Redocly’s recommended rules, keeping only the warnings accepted on purpose', async () => {
      const { errors, found, unexpected } = await lint(full, ACCEPTED_WARNINGS_EVERY_PLUGIN);
      expect(errors, found.join('\n')).to.equal(0);
      expect(unexpected).to.deep.equal([]);
    });
  });
});
