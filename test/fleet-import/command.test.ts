import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { dropSchema } from '../../kernel/core/database';
import { fleetJsonSchema } from '../../kernel/core/fleet-import/format';
import { projectRoot, testConfig } from '../harness';
import { runZpack } from '../harness/zpack-cli';

describe('zpack import (the command)', () => {
  const config = testConfig({ database: { dropSchemaOnStop: false }, plugins: { minecraft: { enabled: true, options: {} } } });
  const dir = mkdtempSync(path.join(tmpdir(), 'zpack-import-'));
  after(async () => dropSchema(config.database.url, config.database.schema));

  const rows = async (sql: string) => {
    const pg = new Client({ connectionString: config.database.url });
    await pg.connect();
    try {
      await pg.query(`SET search_path TO "${config.database.schema}"`);
      return (await pg.query(sql)).rows;
    } finally {
      await pg.end();
    }
  };

  it('writes a sample export, imports it and prints the report; a second run skips every row', async () => {
    const out = path.join(dir, 'fleet.json');
    const first = await runZpack(config, 'import', '--sample', '--accounts', '5', '--servers', '8', '--out', out);
    expect(first.code, first.out).to.equal(0);
    expect(first.out).to.match(/accounts\s+imported 5, skipped 0 \(already present\), refused 0/);
    expect(first.out).to.match(/servers\s+imported 8, skipped 0 \(already present\), refused 0/);
    expect(JSON.parse(readFileSync(out, 'utf8')).format).to.equal('zpack.fleet');
    const again = await runZpack(config, 'import', out);
    expect(again.code, again.out).to.equal(0);
    expect(again.out).to.match(/servers\s+imported 0, skipped 8/);
    expect(await rows(`SELECT count(*)::int AS n FROM instance`)).to.deep.equal([{ n: 8 }]);
  });

  it('stops with one clear error for a file that is not the format, writing nothing', async () => {
    const bad = path.join(dir, 'prisma-dump.json');
    writeFileSync(bad, JSON.stringify({ users: [{ id: 1 }] }));
    const before = await rows(`SELECT count(*)::int AS n FROM account`);
    const res = await runZpack(config, 'import', bad);
    expect(res.code).to.equal(1);
    expect(res.out).to.match(/zpack: not a zpack fleet file .*\(invalid_request\)/);
    expect(await rows(`SELECT count(*)::int AS n FROM account`)).to.deep.equal(before);
  });

  it('publishes the format as JSON Schema in docs/, generated from the schema the command checks', () => {
    const committed = JSON.parse(readFileSync(path.join(projectRoot, 'docs', 'fleet-import.schema.json'), 'utf8'));
    expect(committed).to.deep.equal(JSON.parse(JSON.stringify(fleetJsonSchema())));
  });
});
