import { expect } from 'chai';
import { Client } from 'pg';
import { dropSchema } from '../../kernel/core/database';
import { testConfig } from '../harness';
import { runZpack } from '../harness/zpack-cli';

describe('zpack controller --once --dry-run', () => {
  const config = testConfig({ database: { dropSchemaOnStop: false } });
  let pg: Client;
  let operationId: string;
  before(async function () {
    this.timeout(60_000);
    const migrated = await runZpack(config, 'migrate');
    expect(migrated.code, migrated.out).to.equal(0);
    pg = new Client({ connectionString: config.database.url });
    await pg.connect();
    await pg.query(`SET search_path TO "${config.database.schema}"`);
    const [account] = (await pg.query(`INSERT INTO account (email, password_hash) VALUES ('stuck@zpack.test', 'x') RETURNING id`)).rows;
    [{ id: operationId }] = (await pg.query(
      `INSERT INTO provisioning_operation (account_id, kind, state, phase, deadline_at) VALUES ($1, 'create', 'running', 'start', now() - interval '1 hour') RETURNING id`,
      [account.id])).rows;
  });
  after(async () => {
    await pg?.end();
    await dropSchema(config.database.url, config.database.schema);
  });

  it('prints one pass\'s findings as a table and changes nothing', async () => {
    const { code, out } = await runZpack(config, 'controller', '--once', '--dry-run');
    expect(code, out).to.equal(0);
    const lines = out.trim().split('\n');
    expect(lines[0]).to.match(/^LEVEL\s+KIND\s+SUBJECT\s+ACTION\s+STATE\s+SEEN\s+EVIDENCE$/);
    expect(lines[1]).to.match(new RegExp(`^1\\s+stale_operation\\s+${operationId}\\s+mark_stale\\s+proposed\\s+new\\s+\\{"operationKind":"create"`));
    expect(out).to.match(/1 finding\(s\) over 0 instance\(s\) in \d+ ms; detectors: kernel.operations: 1 finding\(s\); kernel.addresses: 0 finding\(s\)/);
    expect((await pg.query(`SELECT count(*)::int AS n FROM repair_event`)).rows[0].n).to.equal(0);
    expect((await pg.query(`SELECT state FROM provisioning_operation WHERE id = $1`, [operationId])).rows[0].state).to.equal('running');
  });

  it('refuses --once without --dry-run: recording belongs to the elected controller', async () => {
    const { code, out } = await runZpack(config, 'controller', '--once');
    expect(code).to.equal(1);
    expect(out).to.include('runs only with --dry-run');
  });
});
