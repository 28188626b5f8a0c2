import { expect } from 'chai';
import { confinedPackPath } from './modpack';

describe('modpack entry paths (confinedPackPath)', () => {
  for (const ok of ['mods/sodium.jar', 'config/lithium.properties', 'resourcepacks/a b.zip', 'mods/..hidden.jar']) {
    it(`keeps ${JSON.stringify(ok)}`, () => expect(confinedPackPath(ok)).to.equal(true));
  }
  for (const bad of ['../x.jar', 'mods/../../x.jar', '/etc/passwd', 'C:/Windows/x.dll', 'c:x', 'mods\\..\\x.jar', 'mods/x\0.jar', '', 'mods//x.jar', './mods/x.jar', 'mods/.', 'x'.repeat(513)]) {
    it(`refuses ${JSON.stringify(bad.slice(0, 40))}`, () => expect(confinedPackPath(bad)).to.equal(false));
  }
});
