import { expect } from 'chai';
import { CRASH_LOG_TAIL, type AccountView, type CrashClass, type InstanceType, type ProvisionPlan } from '../../api';
import { useSubject, type Setup } from './subject';

export interface InstanceTypeContractSubject {
  type: InstanceType;
  /** Options a create request of this type may carry. */
  validOptions: Record<string, unknown>;
  /** Options the type must refuse (a wrong field type, an unknown value …). */
  invalidOptions: Record<string, unknown>;
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
  });
}
