import { expect } from 'chai';
import path from 'node:path';
import { Client } from 'pg';
import { dropSchema } from '../../kernel/core/database';
import { distRoot, testConfig } from '../harness';
import { runZpack } from '../harness/zpack-cli';

/** `zpack …` in a child process, with the sample plugin enabled from its module path. */
const zpack = (config: ReturnType<typeof testConfig>, ...args: string[]) => runZpack({
  ...config,
  plugins: { sample: { enabled: true, module: path.join(distRoot, 'test', 'fixtures', 'sample-plugin') } },
}, ...args);

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
