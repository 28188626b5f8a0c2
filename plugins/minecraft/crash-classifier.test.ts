import { expect } from 'chai';
import { CRASH_LOG_TAIL, type CrashInfo } from '../../kernel/api';
import { hostileCrashTails } from '../../kernel/testing';
import { MINECRAFT_CRASH_SIGNALS, classifyMinecraftCrash } from './crash-classifier';

const fill = (unit: string, chars = 4000) => unit.repeat(Math.ceil(chars / unit.length)).slice(0, chars);

const crash = (logTail: string[], exitCode: number | null = 1): CrashInfo => ({ at: new Date(), exitCode, signal: null, uptimeSeconds: 5, logTail });

describe('minecraft crash classifier', () => {
  describe('on hostile log tails of about 1 MB', () => {
    for (const { name, tail } of hostileCrashTails(MINECRAFT_CRASH_SIGNALS.map((signal) => signal.fragments))) {
      it(`classifies in well under 100 ms of CPU — ${name}`, () => {
        // CPU time, not wall time: the cost of the matcher, whatever else the shared machine runs.
        const before = process.cpuUsage();
        classifyMinecraftCrash(crash(tail));
        const { user, system } = process.cpuUsage(before);
        expect((user + system) / 1000).to.be.below(100);
      });
    }
  });

  describe('each signal', () => {
    for (const { classification, fragments } of MINECRAFT_CRASH_SIGNALS) {
      it(`${classification}: finds ${JSON.stringify(fragments)} in one line, in any case, however far apart`, () => {
        const line = `[12:00:01] [main/ERROR]: ${fragments.map((f) => f.toUpperCase()).join(fill('-', 3000))} (end)`;
        const noise = Array(50).fill('[12:00:00] [Server thread/INFO]: Preparing spawn area');
        expect(classifyMinecraftCrash(crash([...noise, line, ...noise]))).to.equal(classification);
      });
    }

    it('does not join fragments across lines', () => {
      expect(classifyMinecraftCrash(crash(["Mod 'iris' requires ", ' sodium, which is missing!']))).to.equal('nonzero_exit');
    });
  });

  it('reads only as many of the newest lines as the kernel keeps', () => {
    const tail = ['java.lang.OutOfMemoryError', ...Array(CRASH_LOG_TAIL.maxLines).fill('[INFO] saving')];
    expect(classifyMinecraftCrash(crash(tail))).to.equal('nonzero_exit');
    expect(classifyMinecraftCrash(crash(tail.slice(0, CRASH_LOG_TAIL.maxLines)))).to.equal('oom');
  });
});
