import { expect } from 'chai';
import { mkdirSync, mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../harness';
import { checkArchitecture, importsOf } from './check';

describe('Architecture', () => {
  it('plugins import only kernel/api and npm packages; kernel/core imports no plugin', () => {
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
});
