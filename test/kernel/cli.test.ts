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

describe('zpack refusing what was typed', () => {
  const config = testConfig({ database: { dropSchemaOnStop: false } });
  after(async () => dropSchema(config.database.url, config.database.schema));
  /** One line of refusal, never Node's stack. */
  const refused = (out: string) => expect(out, out).not.to.match(/^\s+at /m);

  it('names a mistyped or incomplete option and shows the usage (invalid_arguments)', async () => {
    const missing = await runZpack(config, 'create-admin', '--email');
    expect(missing.code, missing.out).to.equal(1);
    expect(missing.out).to.match(/^zpack: Option '--email <value>' argument missing\nusage: zpack/m).and.to.match(/\(invalid_arguments\)/);
    refused(missing.out);
    const unknown = await runZpack(config, 'migrate', '--bogus');
    expect(unknown.code, unknown.out).to.equal(1);
    expect(unknown.out).to.match(/^zpack: Unknown option '--bogus'/m).and.to.match(/\(invalid_arguments\)/);
    refused(unknown.out);
  });

  it('refuses a mistyped import option before anything boots: no schema is made, no plugin started', async () => {
    const fresh = testConfig({ database: { dropSchemaOnStop: false } });
    try {
      for (const args of [['--bogus'], ['--accounts'], []]) {
        const res = await runZpack(fresh, 'import', ...args);
        expect(res.code, res.out).to.equal(1);
        expect(res.out).to.match(/\(invalid_arguments\)/).and.to.match(/usage: zpack import/);
        expect(res.out, res.out).not.to.match(/zpack started|plugin|migrat/i);
        refused(res.out);
      }
      const pg = new Client({ connectionString: fresh.database.url });
      await pg.connect();
      try {
        const schemas = (await pg.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [fresh.database.schema])).rows;
        expect(schemas, 'the schema of a refused import').to.deep.equal([]);
      } finally {
        await pg.end();
      }
    } finally {
      await dropSchema(fresh.database.url, fresh.database.schema);
    }
  });

  it('refuses an admin whose email is not an address, or whose password is too short, in one line', async () => {
    const email = await runZpack(config, 'create-admin', '--email', 'not-an-email', '--password', 'a-long-enough-password');
    expect(email.code, email.out).to.equal(1);
    expect(email.out).to.match(/^zpack: "not-an-email" is not an email address \(invalid_arguments\)$/m);
    refused(email.out);
    const password = await runZpack(config, 'create-admin', '--email', 'ops@example.com', '--password', 'short');
    expect(password.code, password.out).to.equal(1);
    expect(password.out).to.match(/^zpack: Password must be at least 10 characters \(invalid_request\)$/m);
    refused(password.out);
    const pg = new Client({ connectionString: config.database.url });
    await pg.connect();
    try {
      const rows = (await pg.query(`SELECT email FROM "${config.database.schema}".account`)).rows;
      expect(rows).to.deep.equal([]);
    } finally {
      await pg.end();
    }
  });
});
