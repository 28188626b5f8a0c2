import { expect } from 'chai';
import { CRASH_LOG_TAIL, type AccountView, type CrashClass, type InstanceType, type ProvisionPlan } from '../../api';
import { useSubject, type Setup } from './subject';

export interface InstanceTypeContractSubject {
  type: InstanceType;
  /** Options a create request of this type may carry. */
  validOptions: Record<string, unknown>;
  /** Options the type must refuse (a wrong field type, an unknown value …). */
  invalidOptions: Record<string, unknown>;
  /** The text fragments the type's crash classifier looks for, so hostile tails can be built around them. */
  crashFragments?: ReadonlyArray<readonly string[]>;
}

const LINE_CHARS = 4000;
const LINES = 250;
const fill = (unit: string, chars = LINE_CHARS): string => unit.repeat(Math.ceil(chars / unit.length)).slice(0, chars);
/** Words any log-matching classifier is likely to anchor on. */
const COMMON_FRAGMENTS: ReadonlyArray<readonly string[]> = [['requires ', ' which is missing'], ['error'], ['exception'], ['mod '], ['at ']];

/**
 * About 1 MB of log per shape and fragment list: the shapes that make a backtracking matcher work
 * hardest (a fragment followed by a long run, a fragment repeated, every fragment but the last,
 * the fragments in reverse). A linear classifier goes through each in a few milliseconds.
 */
export function hostileCrashTails(fragmentLists: ReadonlyArray<readonly string[]>): Array<{ name: string; tail: string[] }> {
  const tails: Array<{ name: string; tail: string[] }> = [];
  for (const fragments of fragmentLists) {
    const [first] = fragments;
    const shapes: Record<string, string> = {
      'fragment then a long run': first + fill('x', LINE_CHARS - first.length),
      'fragment then spaces': first + fill(' ', LINE_CHARS - first.length),
      'fragment repeated': fill(first),
      'all but the last fragment, repeated': fill(fragments.slice(0, -1).join('x') || first.slice(0, -1)),
      'fragments reversed, repeated': fill([...fragments].reverse().join('')),
    };
    for (const [shape, line] of Object.entries(shapes)) tails.push({ name: `${JSON.stringify(fragments)}: ${shape}`, tail: Array(LINES).fill(line) });
  }
  return tails;
}

const CRASH_CLASSES: CrashClass[] = ['oom', 'mod_or_plugin_error', 'missing_dependency', 'nonzero_exit', 'unexpected_exit'];
const account: AccountView = { id: 'acct-contract', email: 'owner@example.test', role: 'user', billingExempt: false };

/** The InstanceType port's semantics: options validated by its schema, a complete plan, a crash class for any crash. */
export function describeInstanceTypeContract(name: string, setup: Setup<InstanceTypeContractSubject>): void {
  describe(`${name}: InstanceType contract`, () => {
    const env = useSubject(setup);
    const draft = (): ProvisionPlan => {
      const { type, validOptions } = env.subject;
      return { account, kind: type.kind, type: type.type, name: 'Contract', options: type.optionsSchema.parse(validOptions) as Record<string, unknown>, portNeeds: [], agentPayload: {} };
    };

    it('names its kind and type', () => {
      expect(env.subject.type.kind).to.be.a('string').and.match(/^[a-z][a-z0-9-]*$/);
      expect(env.subject.type.type).to.be.a('string').and.match(/^[a-z][a-z0-9-]*$/);
    });

    it('accepts valid options and refuses invalid ones, without throwing', () => {
      const { optionsSchema } = env.subject.type;
      expect(optionsSchema.safeParse(env.subject.validOptions).success).to.equal(true);
      expect(optionsSchema.safeParse(env.subject.invalidOptions).success).to.equal(false);
      expect(optionsSchema.safeParse('not an object').success).to.equal(false);
    });

    it('fills template, resources, named ports and the agent payload, keeping who and what', async () => {
      const plan = await env.subject.type.plan(draft());
      expect(plan).to.include({ account, kind: env.subject.type.kind, type: env.subject.type.type, name: 'Contract' });
      expect(plan.template).to.be.a('string').and.not.equal('');
      for (const size of [plan.memoryMb, plan.cores, plan.diskGb]) expect(size).to.be.a('number').and.above(0);
      for (const need of plan.portNeeds) {
        expect(need.name).to.be.a('string').and.not.equal('');
        expect(need.protocol).to.be.oneOf(['tcp', 'udp']);
      }
      expect(new Set(plan.portNeeds.map((p) => p.name)).size).to.equal(plan.portNeeds.length);
      expect(plan.agentPayload).to.be.an('object');
    });

    it('classifies any crash, an empty or a full log tail alike', () => {
      const full = Array.from({ length: CRASH_LOG_TAIL.maxLines }, (_, i) => `line ${i} ${'x'.repeat(CRASH_LOG_TAIL.maxLineChars - 20)}`);
      for (const [exitCode, signal, logTail] of [[0, null, []], [1, null, []], [null, 'SIGKILL', []], [137, null, full]] as const) {
        const cls = env.subject.type.classifyCrash({ at: new Date(), exitCode, signal, uptimeSeconds: 5, logTail: [...logTail] });
        expect(cls).to.be.oneOf(CRASH_CLASSES);
      }
    });

    it('classifies every hostile ~1 MB log tail in well under 100 ms of CPU (a crash event must never stall the event loop)', () => {
      const tails = hostileCrashTails([...COMMON_FRAGMENTS, ...(env.subject.crashFragments ?? [])]);
      for (const { name, tail } of tails) {
        // CPU time, not wall time: the matcher's own cost, whatever else the machine runs.
        const before = process.cpuUsage();
        env.subject.type.classifyCrash({ at: new Date(), exitCode: 1, signal: null, uptimeSeconds: 5, logTail: tail });
        const { user, system } = process.cpuUsage(before);
        expect((user + system) / 1000, name).to.be.below(100);
      }
    });
  });
}
