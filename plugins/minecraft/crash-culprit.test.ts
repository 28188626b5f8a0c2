import { expect } from 'chai';
import type { CrashInfo } from '../../kernel/api';
import { hostileCrashTails } from '../../kernel/testing';
import { minecraftCrashCulprit } from './crash-culprit';

const crash = (...logTail: string[]): CrashInfo => ({ at: new Date(), exitCode: 1, signal: null, uptimeSeconds: 5, logTail });

describe('minecraft crash culprit (the mod a crash log blames)', () => {
  const cases: Array<[string, string, object | null]> = [
    ['Fabric missing dependency', "[12:00:02] [main/ERROR]: Mod 'Iris' (iris) 1.7.0 requires any version of sodium, which is missing!", { name: 'iris', missing: 'sodium' }],
    ['Fabric versioned dependency', "Mod 'Continuity' (continuity) 3.0.0 requires version 1.0.35 or later of indium, which is missing!", { name: 'continuity', missing: 'indium' }],
    ['Forge missing dependency', "Mod ID: 'architectury', Requested by: 'rei', Expected range: '[13.0,)', Actual version: '[MISSING]'", { name: 'rei', missing: 'architectury' }],
    ['Paper plugin failing to enable', '[12:00:02] [Server thread/ERROR]: Error occurred while enabling Essentials v2.20.1 (Is it up to date?)', { name: 'Essentials' }],
    ['Paper plugin failing to load', "[12:00:01] [Server thread/ERROR]: Could not load 'plugins/BrokenPlugin.jar' in folder 'plugins'", { name: 'BrokenPlugin.jar' }],
    ['a failed mixin', '[12:00:02] [main/ERROR]: Mixin apply for mod krypton failed krypton.mixins.json:network.PacketMixin', { name: 'krypton' }],
    ['a failed mixin (from mod)', 'Mixin [lithium.mixins.json:ai.PathMixin] from mod lithium failed injection check', { name: 'lithium' }],
    ['a mod failing to load', "Failed to load mod 'create'", { name: 'create' }],
    ['nothing telling', 'java.lang.OutOfMemoryError: Java heap space', null],
    ['a name that is not a name', "Mod 'X' ($(rm -rf /)) 1.0 requires any version of y, which is missing!", null],
  ];
  for (const [what, line, culprit] of cases) {
    it(`reads ${what}`, () => {
      expect(minecraftCrashCulprit(crash('[12:00:00] [Server thread/INFO]: Starting minecraft server version 1.21.4', line))).to.deep.equal(culprit);
    });
  }

  it('takes the newest telling line', () => {
    const found = minecraftCrashCulprit(crash('Mixin apply for mod sodium failed x', 'Mixin apply for mod lithium failed y', 'Stopping server'));
    expect(found).to.deep.equal({ name: 'lithium' });
  });

  for (const { name, tail } of hostileCrashTails([["Mod '", ', which is missing'], ['Error occurred while enabling ', ' v'], ['Mixin ', ' for mod ']])) {
    it(`stays linear on a hostile tail — ${name}`, () => {
      const before = process.cpuUsage();
      minecraftCrashCulprit(crash(...tail));
      const { user, system } = process.cpuUsage(before);
      expect((user + system) / 1000).to.be.below(200);
    });
  }
});
