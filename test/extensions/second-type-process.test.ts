import { expect } from 'chai';
import { Client } from 'pg';
import { KernelQueue } from '../../kernel/api';
import { dropSchema } from '../../kernel/core/database';
import { testConfig, type TestKernel } from '../harness';
import { runZpack } from '../harness/zpack-cli';
import { create, settle, startFleet, startFleetKernel, waitFor, type Fleet } from '../provisioning/fixture';
import { beaconBody, secondTypeConfig } from './second-type-config';

describe('The beacon type’s own processes', () => {
  describe('its queue', () => {
    const shared = testConfig();
    const kernels: TestKernel[] = [];
    let fleet: Fleet;
    const start = async (role: string) => {
      const tk = await startFleetKernel(fleet, {
        schema: shared.database.schema, prefix: shared.redis.prefix,
        config: secondTypeConfig({ role, database: { dropSchemaOnStop: false } }),
      });
      kernels.push(tk);
      return tk;
    };
    before(async () => { fleet = await startFleet(); });
    after(async () => {
      for (const tk of kernels.reverse()) await tk.stop();
      await fleet?.stop();
      await dropSchema(shared.database.url, shared.database.schema);
    });

    it('is named after the plugin and worked by beacon-worker, not by api or provision-worker', async () => {
      const api = await start('api');
      await start('provision-worker');
      const user = await api.user();
      const op = await settle(user, (await create(user, 'role-beacon', beaconBody('Relayed'))).body.operation.id);
      expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');

      const signals = api.kernel.queues.declaredQueues().find((q) => q.owner === 'beacon')!;
      expect(signals.name).to.equal('beacon.signals');
      expect((await user.http.post(`/api/beacon/instances/${op.instanceId}/signals`, { text: 'mayday' })).status).to.equal(202);
      const queue = api.kernel.queues.queue(signals);
      expect(await queue.getWorkers(), 'nobody works beacon.signals').to.have.length(0);
      expect(await api.kernel.queues.queue(KernelQueue.provisioning).getWorkers()).to.have.length.greaterThan(0);
      expect(await queue.getJobCounts('waiting')).to.deep.equal({ waiting: 1 });

      await start('beacon-worker');
      const status = await waitFor(async () => {
        const body = (await user.http.get(`/api/servers/${op.instanceId}/status`)).body;
        return body.beacon?.signals === 1 ? body.beacon : undefined;
      }, 'the beacon-worker role ran the signal job');
      expect(status).to.include({ lastSignal: 'mayday' });
    });
  });

  describe('zpack beacon-prune (its command)', () => {
    const config = testConfig(secondTypeConfig({ database: { dropSchemaOnStop: false } }));
    after(async () => dropSchema(config.database.url, config.database.schema));

    /** `zpack …` in a child process, configured by the fixture's zpack.yaml over a test config. */
    const zpack = (...args: string[]) => runZpack(config, ...args);
    const query = async (sql: string): Promise<Array<Record<string, unknown>>> => {
      const pg = new Client({ connectionString: config.database.url });
      await pg.connect();
      try {
        return (await pg.query(sql)).rows;
      } finally {
        await pg.end();
      }
    };

    it('keeps only the newest sweeps, in a booted kernel that migrated the plugin’s table', async () => {
      const first = await zpack('beacon-prune', '2');
      expect(first.code, first.out).to.equal(0);
      expect(first.out).to.match(/removed 0 sweep\(s\)/);
      const table = `"${config.database.schema}".beacon_sweep`;
      await query(`INSERT INTO ${table} (kernel, token, lit) SELECT 'k', n, 0 FROM generate_series(1, 5) AS n`);
      const { code, out } = await zpack('beacon-prune', '2');
      expect(code, out).to.equal(0);
      expect(out).to.match(/removed 3 sweep\(s\)/);
      expect((await query(`SELECT token FROM ${table} ORDER BY token`)).map((r) => Number(r.token))).to.deep.equal([4, 5]);
    });

    it('exits 2 without a count to keep, and is listed by zpack help', async () => {
      expect((await zpack('beacon-prune')).code).to.equal(2);
      const { code, out } = await zpack('help');
      expect(code).to.equal(0);
      expect(out).to.match(/beacon-prune\s+keeps only the newest <keep> beacon sweeps \(beacon\)/);
      expect(out).to.match(/beacon-worker\s+relays signals to beacons/);
    });
  });
});
