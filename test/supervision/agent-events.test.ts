import { expect } from 'chai';
import { Tokens } from '../../kernel/api';
import { type TestUser } from '../harness';
import { create, settle, useFleetKernel } from '../provisioning/fixture';

describe('POST /api/agent/events (hostile and malformed input)', () => {
  const env = useFleetKernel();
  let user: TestUser;
  let instanceId: string;

  before(async () => {
    user = await env.tk.user();
    const op = await settle(user, (await create(user, 'agent-events')).body.operation.id);
    expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
    instanceId = op.instanceId;
  });

  const token = () => env.tk.kernel.resolve(Tokens.AgentTokens).tokenFor(instanceId);
  let clock = Date.now() - 3600_000;
  const crashEvent = (fields: Record<string, unknown> = {}) => ({
    type: 'crash', instanceId, at: new Date((clock += 1000)).toISOString(), exitCode: 1, signal: null, uptimeSeconds: 5, logTail: ['boom'], ...fields,
  });
  const post = (body: unknown) => env.tk.http.post('/api/agent/events', body, { token: token() });
  const crashRows = async (): Promise<Array<{ log_tail: string[] }>> =>
    env.tk.kernel.ds.query(`SELECT log_tail FROM crash_report WHERE instance_id = $1 ORDER BY at`, [instanceId]);

  it('classifies a hostile 1 MB log tail promptly while GET /healthz keeps answering', async () => {
    const logTail = Array(240).fill(`requires ${'x'.repeat(3990)}`);
    let settled = false;
    const posted = post(crashEvent({ logTail })).finally(() => { settled = true; });
    let slowest = 0;
    do {
      const started = performance.now();
      expect((await env.tk.http.get('/healthz')).status).to.equal(200);
      slowest = Math.max(slowest, performance.now() - started);
    } while (!settled);
    const res = await posted;
    expect(res.status, res.text).to.equal(202);
    expect(res.body.classification).to.equal('nonzero_exit');
    expect(slowest, 'slowest /healthz while the tail was classified (ms)').to.be.below(500);
  });

  it('keeps the newest 200 lines of a long tail, each cut to 4096 characters', async () => {
    const before = (await crashRows()).length;
    const logTail = [...Array(300).keys()].map((i) => `line ${i}`);
    logTail[250] = 'y'.repeat(100_000);
    logTail[299] = `last ${'😀'.repeat(3000)}`;
    expect((await post(crashEvent({ logTail }))).status).to.equal(202);
    const rows = await crashRows();
    expect(rows).to.have.length(before + 1);
    const stored = rows[rows.length - 1].log_tail;
    expect(stored).to.have.length(200);
    expect(stored[0]).to.equal('line 100');
    expect(stored[150]).to.equal('y'.repeat(4096));
    expect(stored[199].length).to.be.within(4095, 4096);
    expect(stored[199], 'a cut never splits a surrogate pair').not.to.match(/\p{Cs}/u);
  });

  describe('answers 400 invalid_request and writes nothing for a value its column cannot hold', () => {
    const cases: Array<[string, (e: Record<string, unknown>) => Record<string, unknown>]> = [
      ['a date 200,000 years before our era', (e) => ({ ...e, at: '-200000-01-01T00:00:00Z' })],
      ['a date before 2000', (e) => ({ ...e, at: '1999-12-31T23:59:59Z' })],
      ['a date two days ahead', (e) => ({ ...e, at: new Date(Date.now() + 2 * 86_400_000).toISOString() })],
      ['a date that is no date', (e) => ({ ...e, at: 'yesterday' })],
      ['an uptime of 1e308 seconds', (e) => ({ ...e, uptimeSeconds: 1e308 })],
      ['an uptime past int32', (e) => ({ ...e, uptimeSeconds: 2 ** 31 })],
      ['a negative uptime', (e) => ({ ...e, uptimeSeconds: -1 })],
      ['an exit code of 2^40', (e) => ({ ...e, exitCode: 1099511627776 })],
      ['an exit code below int32', (e) => ({ ...e, exitCode: -(2 ** 31) - 1 })],
      ['a fractional exit code', (e) => ({ ...e, exitCode: 1.5 })],
      ['a signal name of 21 characters', (e) => ({ ...e, signal: 'S'.repeat(21) })],
      ['a log line with NUL', (e) => ({ ...e, logTail: ['ok', 'bad \u0000 line'] })],
      ['a log line with an unpaired surrogate', (e) => ({ ...e, logTail: ['bad \ud800 line'] })],
      ['a signal with NUL', (e) => ({ ...e, signal: 'SIG\u0000' })],
      ['a log tail that is no list of strings', (e) => ({ ...e, logTail: [1, 2] })],
    ];
    for (const [what, spoil] of cases) {
      it(what, async () => {
        const before = await crashRows();
        const res = await post(spoil(crashEvent()));
        expect(res.status, res.text).to.equal(400);
        expect(res.body.error.code).to.equal('invalid_request');
        expect(await crashRows()).to.have.length(before.length);
      });
    }

    it('a backup state with NUL or an event time out of range, leaving the server status as it was', async () => {
      const status = async () => (await env.tk.kernel.ds.query(`SELECT payload FROM instance WHERE id = $1`, [instanceId]))[0].payload;
      const prior = await status();
      for (const body of [
        { type: 'backup', instanceId, state: 'ready\u0000' },
        { type: 'restore', instanceId, state: 'ready', at: '+275760-09-13T00:00:00Z' },
        { type: 'ready', instanceId, at: '0001-01-01T00:00:00Z' },
      ]) {
        const res = await post(body);
        expect(res.status, JSON.stringify(body)).to.equal(400);
        expect(res.body.error.code).to.equal('invalid_request');
      }
      expect(await status()).to.deep.equal(prior);
    });
  });
});
