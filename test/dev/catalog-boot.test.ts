import { expect } from 'chai';
import { bootOptions, refusal } from '../harness/boot-options';

/** Boot up to option validation, the codeserver plugin enabled with `codeserver` as its options. */
const boot = (codeserver: Record<string, unknown>) => bootOptions({}, { codeserver: { enabled: true, options: codeserver } });

const good = { runtime: 'node', version: '22', artifact: 'https://artifacts.example.com/node-22.tar.gz', sha256: 'a'.repeat(64) };

describe('codeserver runtime catalog at boot', () => {
  it('boots the embedded default, whose every entry carries a verifiable hash', () => {
    expect(() => boot({})).to.not.throw();
  });

  for (const [what, sha256] of [['a tampered (non-hex) hash', `${'a'.repeat(63)}z`], ['a short hash', 'abc123'], ['an upper-case hash', 'A'.repeat(64)], ['no hash', '']]) {
    it(`stops boot on an entry with ${what}, naming the entry and its key`, () => {
      const err = refusal(() => boot({ catalog: [good, { runtime: 'python', version: '3.12', artifact: 'https://artifacts.example.com/python-3.12.tar.gz', sha256 }] }));
      expect(err.code).to.equal('invalid_option');
      expect(err.message).to.include('plugins.codeserver.options.catalog.1.sha256').and.include('python 3.12');
    });
  }

  it('stops boot on an entry without a sha256 at all, or with a runtime outside node, python, dotnet, go, java', () => {
    const { sha256: _, ...withoutHash } = good;
    expect(refusal(() => boot({ catalog: [withoutHash] })).message).to.include('catalog.0.sha256');
    expect(refusal(() => boot({ catalog: [{ ...good, runtime: 'ruby' }] })).message).to.include('catalog.0.runtime');
  });

  it('stops boot on a runtime version listed twice', () => {
    expect(refusal(() => boot({ catalog: [good, good] })).message).to.include('node 22 is listed twice');
  });
});
