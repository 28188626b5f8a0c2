import { expect } from 'chai';
import { CRASH_LOG_TAIL, type CrashInfo } from '../../kernel/api';
import { MINECRAFT_CRASH_SIGNALS, classifyMinecraftCrash, type CrashSignal } from './crash-classifier';

const LINE_CHARS = 4000;
const LINES = 250;
const fill = (unit: string, chars = LINE_CHARS) => unit.repeat(Math.ceil(chars / unit.length)).slice(0, chars);

/**
 * About 1 MB of log per shape, for each signal of a type: the shapes that make a backtracking
 * matcher work hardest (a fragment followed by a long run, a fragment repeated, every fragment
 * but the last, the fragments in reverse). Written over the exported signals so any type's
 * classifier can be put through it.
 */
function hostileTails(signals: readonly CrashSignal[]): Array<{ name: string; tail: string[] }> {
  const tails: Array<{ name: string; tail: string[] }> = [];
  for (const { classification, fragments } of signals) {
    const label = `${classification} ${JSON.stringify(fragments)}`;
    const shapes: Record<string, string> = {
      'fragment then a long run': fragments[0] + fill('x', LINE_CHARS - fragments[0].length),
      'fragment then spaces': fragments[0] + fill(' ', LINE_CHARS - fragments[0].length),
      'fragment repeated': fill(fragments[0]),
      'all but the last fragment, repeated': fill(fragments.slice(0, -1).join('x') || fragments[0].slice(0, -1)),
      'fragments reversed, repeated': fill([...fragments].reverse().join('')),
    };
    for (const [shape, line] of Object.entries(shapes)) tails.push({ name: `${label}: ${shape}`, tail: Array(LINES).fill(line) });
  }
  return tails;
}

const crash = (logTail: string[], exitCode: number | null = 1): CrashInfo => ({ at: new Date(), exitCode, signal: null, uptimeSeconds: 5, logTail });

describe('minecraft crash classifier', () => {
  describe('on hostile log tails of about 1 MB', () => {
    for (const { name, tail } of hostileTails(MINECRAFT_CRASH_SIGNALS)) {
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
