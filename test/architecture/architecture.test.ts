import { expect } from 'chai';
import { mkdirSync, mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../harness';
import { checkArchitecture, importsOf } from './check';

describe('Architecture', () => {
  it('plugins import only kernel/api (tests also kernel/testing) and npm packages; kernel/core imports no plugin', () => {
    const violations = checkArchitecture(projectRoot);
    expect(violations, JSON.stringify(violations, null, 2)).to.deep.equal([]);
  });

  it('finds every import form', () => {
    expect(importsOf(`import a from 'x';\nimport { b,\n c } from "../y";\nexport * from './z';\nimport 'side';\nconst q = require('r'); await import('dyn');`))
      .to.have.members(['x', '../y', './z', 'side', 'r', 'dyn']);
  });

  it('catches a plugin reaching into kernel/core or another plugin', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'zpack-arch-'));
    copyFileSync(path.join(projectRoot, 'package.json'), path.join(root, 'package.json'));
    mkdirSync(path.join(root, 'plugins', 'bad'), { recursive: true });
    mkdirSync(path.join(root, 'kernel', 'core'), { recursive: true });
    writeFileSync(path.join(root, 'plugins', 'bad', 'index.ts'),
      `import { Kernel } from '../../kernel/core/kernel';\nimport x from '../other/index';\nimport { z } from 'zod';\nimport { y } from '../../kernel/api';\nimport lp from 'left-pad';`);
    writeFileSync(path.join(root, 'kernel', 'core', 'k.ts'), `import p from '../../plugins/bad';`);
    const rules = checkArchitecture(root).map((v) => `${v.file} ${v.specifier}`);
    expect(rules).to.have.members([
      'plugins/bad/index.ts ../../kernel/core/kernel',
      'plugins/bad/index.ts ../other/index',
      'plugins/bad/index.ts left-pad',
      'kernel/core/k.ts ../../plugins/bad',
    ]);
  });

  it('holds the plugins under test/fixtures (the second-type game type) to the same rules as plugins/', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'zpack-arch-'));
    copyFileSync(path.join(projectRoot, 'package.json'), path.join(root, 'package.json'));
    for (const dir of ['plugins', 'test/fixtures/second-type', 'kernel/core']) mkdirSync(path.join(root, dir), { recursive: true });
    const write = (file: string, text: string) => writeFileSync(path.join(root, file), text);
    write('test/fixtures/second-type/index.ts', `import { definePlugin } from '../../../kernel/api';\nimport { t } from './type';\nimport { z } from 'zod';`);
    write('test/fixtures/second-type/type.ts', `import { Kernel } from '../../../kernel/core/kernel';\nimport { fleet } from '../../provisioning/fixture';`);
    write('test/fixtures/second-type/type.test.ts', `import { startTestKernel } from '../../../kernel/testing';\nimport { deepMerge } from '../../../kernel/core/config';`);
    write('kernel/core/k.ts', `import beacon from '../../test/fixtures/second-type';`);
    expect(checkArchitecture(root).map((v) => `${v.file} ${v.specifier}`)).to.have.members([
      'test/fixtures/second-type/type.ts ../../../kernel/core/kernel',
      'test/fixtures/second-type/type.ts ../../provisioning/fixture',
      'test/fixtures/second-type/type.test.ts ../../../kernel/core/config',
      'kernel/core/k.ts ../../test/fixtures/second-type',
    ]);
  });

  it('lets a plugin\'s tests import kernel/testing, never its production code, and keeps kernel/core off kernel/testing', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'zpack-arch-'));
    copyFileSync(path.join(projectRoot, 'package.json'), path.join(root, 'package.json'));
    for (const dir of ['plugins/p/testing', 'kernel/core', 'kernel/testing']) mkdirSync(path.join(root, dir), { recursive: true });
    const write = (file: string, text: string) => writeFileSync(path.join(root, file), text);
    write('plugins/p/index.ts', `import { s } from './testing/simulator';`);
    write('plugins/p/testing/simulator.ts', `import { inject } from '../../../kernel/testing';`);
    write('plugins/p/testing/fake.ts', `import { until } from '../../../kernel/testing';\nimport { K } from '../../../kernel/core/kernel';`);
    write('plugins/p/p.test.ts', `import { startTestKernel } from '../../kernel/testing';\nimport { Fake } from './testing/fake';`);
    write('kernel/testing/index.ts', `import { Kernel } from '../core/kernel';\nimport { z } from '../api';`);
    write('kernel/core/kernel.ts', `import { until } from '../testing';`);
    expect(checkArchitecture(root).map((v) => `${v.file} ${v.specifier}`)).to.have.members([
      'plugins/p/testing/simulator.ts ../../../kernel/testing',
      'plugins/p/testing/fake.ts ../../../kernel/core/kernel',
      'kernel/core/kernel.ts ../testing',
    ]);
  });
});
