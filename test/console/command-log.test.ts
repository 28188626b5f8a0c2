import { expect } from 'chai';
import sinon from 'sinon';
import { ConsoleCommandLog, type CommandRecord } from '../../kernel/core/console/command-log';

describe('Console commands in the activity log', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => { clock = sinon.useFakeTimers({ now: 1_000_000 }); });
  afterEach(() => clock.restore());

  const logOf = (limits = { burst: 3, perSecond: 2 }) => {
    const records: CommandRecord[] = [];
    return { records, log: new ConsoleCommandLog(limits, (r) => records.push(r), () => Date.now()) };
  };

  it('records each command a person types, one by one', () => {
    const { records, log } = logOf();
    log.typed('list');
    clock.tick(1000);
    log.typed('say hi');
    clock.tick(1000);
    log.typed('stop');
    expect(records).to.deep.equal(['list', 'say hi', 'stop'].map((command) => ({ event: 'console.command', properties: { command } })));
  });

  it('past the burst and the rate, sums the commands up once a second with their count and the last, then records one by one again', () => {
    const { records, log } = logOf();
    for (let i = 0; i < 10; i++) log.typed(`say ${i}`);
    expect(records.map((r) => r.properties.command)).to.deep.equal(['say 0', 'say 1', 'say 2']);
    clock.tick(1000);
    expect(records[3]).to.deep.equal({ event: 'console.commands_summarized', properties: { count: 7, last: 'say 9' } });
    clock.tick(1000);
    log.typed('list');
    expect(records[4]).to.deep.equal({ event: 'console.command', properties: { command: 'list' } });
    expect(records).to.have.length(5);
  });

  it('keeps the order: once commands are being summed up, a later one joins the sum until it is written', () => {
    const { records, log } = logOf({ burst: 1, perSecond: 1 });
    log.typed('a');
    log.typed('b');
    clock.tick(999);
    log.typed('c');
    log.flush();
    expect(records).to.deep.equal([
      { event: 'console.command', properties: { command: 'a' } },
      { event: 'console.commands_summarized', properties: { count: 2, last: 'c' } },
    ]);
    log.flush();
    expect(records).to.have.length(2);
  });
});
