import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { stringify } from 'yaml';
import { dropSchema } from '../../kernel/core/database';
import { distRoot, projectRoot, testConfig } from '../harness';

/** `zpack …` in a child process, with the sample plugin enabled from its module path. */
function zpack(config: ReturnType<typeof testConfig>, ...args: string[]): Promise<{ code: number | null; out: string }> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'zpack-cli-')), 'cli.yaml');
  writeFileSync(file, stringify({
    ...config,
    logging: { level: 'silent' },
    plugins: { sample: { enabled: true, module: path.join(distRoot, 'test', 'fixtures', 'sample-plugin') } },
  }));
  const env: NodeJS.ProcessEnv = { ...process.env, ZPACK_CONFIG: file };
  for (const k of ['PORT', 'DATABASE_URL', 'REDIS_URL', 'ZPACK_ROLE']) delete env[k];
  const child = spawn(process.execPath, [path.join(distRoot, 'kernel', 'main.js'), ...args], { env, cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out })));
}

describe('zpack <plugin command>', () => {
  const config = testConfig({ database: { dropSchemaOnStop: false } });
  after(async () => dropSchema(config.database.url, config.database.schema));

  it('runs the command of an enabled plugin with its arguments, in a booted kernel', async () => {
    const { code, out } = await zpack(config, 'sample-greet', 'Alex', 'Sam');
    expect(code, out).to.equal(0);
    const pg = new Client({ connectionString: config.database.url });
    await pg.connect();
    try {
      const rows = (await pg.query(`SELECT text FROM "${config.database.schema}".sample_greeting ORDER BY text`)).rows;
      expect(rows.map((r) => r.text)).to.deep.equal(['hello, Alex', 'hello, Sam']);
    } finally {
      await pg.end();
    }
  });

  it('exits with the code the command returns', async () => {
    expect((await zpack(config, 'sample-greet')).code).to.equal(2);
  });

  it('is listed by zpack help, beside the roles plugins add', async () => {
    const { code, out } = await zpack(config, 'help');
    expect(code).to.equal(0);
    expect(out).to.match(/sample-greet\s+stores a greeting for each name given \(sample\)/);
    expect(out).to.match(/sample-worker\s+marks sample greetings seen/);
  });

  it('refuses an unknown command naming it (unknown_command)', async () => {
    const { code, out } = await zpack(config, 'sample-greets');
    expect(code).to.equal(1);
    expect(out).to.match(/zpack: unknown command "sample-greets"[\s\S]*\(unknown_command\)/);
  });
});
