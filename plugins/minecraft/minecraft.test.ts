import { expect } from 'chai';
import type { CrashInfo, ProvisionPlan } from '../../kernel/api';
import { minecraftConfig } from './config';
import { classifyMinecraftCrash } from './crash-classifier';
import { MinecraftType } from './instance-type';

const crash = (logTail: string[], exitCode: number | null = 1, signal: string | null = null): CrashInfo =>
  ({ at: new Date(), exitCode, signal, uptimeSeconds: 5, logTail });

describe('minecraft type', () => {
  const type = new MinecraftType(minecraftConfig.parse({}));

  it('fills defaults and refuses memory outside the plan', () => {
    expect(type.optionsSchema.parse({})).to.deep.equal({ version: '1.21.4', flavor: 'paper', memoryMb: 2048 });
    expect(type.optionsSchema.safeParse({ memoryMb: 65536 }).success).to.equal(false);
    expect(type.optionsSchema.safeParse({ flavor: 'forge' }).success).to.equal(false);
    expect(type.optionsSchema.safeParse({ extra: 1 }).success).to.equal(false);
  });

  it('plans the template, resources, the game port and the agent payload', async () => {
    const plan = await type.plan({
      account: { id: 'a', email: 'a@x', role: 'user', billingExempt: false }, kind: 'game', type: 'minecraft', name: 'Survival',
      options: { version: '1.20.6', flavor: 'fabric', memoryMb: 3072 }, portNeeds: [], agentPayload: {},
    } as ProvisionPlan);
    expect(plan).to.include({ template: 'fabric', memoryMb: 3584, cores: 2, diskGb: 10 });
    expect(plan.portNeeds).to.deep.equal([{ name: 'game', protocol: 'tcp' }]);
    expect(plan.agentPayload).to.include({ game: 'minecraft', version: '1.20.6', flavor: 'fabric', heapMb: 3072, eula: true });
  });

  describe('crash classes from the log tail', () => {
    const table: Array<[string, CrashInfo]> = [
      ['oom', crash(['[Server thread/ERROR]: java.lang.OutOfMemoryError: Java heap space'])],
      ['oom', crash(['Killed'], 137, 'SIGKILL')],
      ['missing_dependency', crash(["Mod 'Sodium Extra' (sodium-extra) 0.5.4 requires any version of sodium, which is missing!"])],
      ['missing_dependency', crash(['java.lang.NoClassDefFoundError: net/fabricmc/api/ModInitializer'])],
      ['mod_or_plugin_error', crash(['[Server thread/ERROR]: Error occurred while enabling Essentials v2.20.1 (Is it up to date?)'])],
      ['mod_or_plugin_error', crash(['Mixin apply for mod lithium failed lithium.mixins.json'])],
      ['nonzero_exit', crash(['[Server thread/INFO]: Stopping server'], 1)],
      ['unexpected_exit', crash(['[Server thread/INFO]: Done (3.2s)!'], 0)],
    ];
    for (const [expected, c] of table) {
      it(`${expected}: ${c.logTail[0].slice(0, 60)}`, () => {
        expect(classifyMinecraftCrash(c)).to.equal(expected);
        expect(type.classifyCrash(c)).to.equal(expected);
      });
    }
  });
});
