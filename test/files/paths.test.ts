import { expect } from 'chai';
import { InvalidRequestError } from '../../kernel/api';
import { confinePath } from '../../kernel/core/files/paths';

/** Paths that try to leave the server root, smuggle bytes or name what no file system holds; every one must be refused. */
export const TRAVERSAL_CORPUS = [
  '..', '../', '../etc/passwd', 'world/../../etc/passwd', 'world/..', './../x', 'a/b/../../..',
  '/../etc/passwd', '//..', 'C:/Windows/win.ini', '/C:/Windows', 'c:\\windows', '~/.ssh/id_rsa', '~root',
  '..\\..\\etc\\passwd', 'world\\..\\..\\x', 'world/\u0000.txt', 'ok\u0000/../../x', 'a\nb',
  '%2e%2e/%2e%2e/etc/passwd', '%2E%2E%2F%2E%2E%2Fetc', '%252e%252e/etc', '%25252e%25252e/x', '%c0%ae%c0%ae/x', '..%2f..%2fetc',
  '%2f..%2fpasswd', '%00', 'a%00b', '',
  '\ufffd\ufffd/x', 'world/\ufffd',
  '\uff0e\uff0e/\uff0e\uff0e/etc/passwd', '\uff0e\uff0e\uff0fetc', '\u2024\u2024/etc', 'world/\ufe52\ufe52/x', '\uff3c..\uff3cetc',
  '... /x', ' ../x', '.. /x', '...', 'a/.../b',
  // Names longer than a file system holds (255 bytes of UTF-8).
  'a'.repeat(256), `world/${'é'.repeat(128)}/level.dat`,
];

describe('confinePath', () => {
  for (const raw of TRAVERSAL_CORPUS) {
    it(`refuses ${JSON.stringify(raw)}`, () => {
      expect(() => confinePath(raw)).to.throw(InvalidRequestError);
    });
  }

  it('refuses a missing path rather than reading it as the root', () => {
    expect(() => confinePath(undefined)).to.throw(InvalidRequestError, 'Invalid path');
  });

  it('refuses arrays (repeated query keys) and very long paths', () => {
    expect(() => confinePath(['a', 'b'])).to.throw(InvalidRequestError);
    expect(() => confinePath('a/'.repeat(600))).to.throw(InvalidRequestError);
  });

  it('accepts a name of exactly 255 bytes', () => {
    expect(confinePath(`world/${'é'.repeat(127)}a`)).to.equal(`world/${'é'.repeat(127)}a`);
  });

  it('reads a leading "/" as the server root, as Pterodactyl clients send it', () => {
    expect(confinePath('/')).to.equal('');
    expect(confinePath('/world/level.dat')).to.equal('world/level.dat');
    expect(confinePath('/etc/passwd')).to.equal('etc/passwd');
    expect(confinePath('%2fworld')).to.equal('world');
  });

  it('normalises harmless paths relative to the root', () => {
    expect(confinePath('.')).to.equal('');
    expect(confinePath('world')).to.equal('world');
    expect(confinePath('world//region/./r.0.0.mca')).to.equal('world/region/r.0.0.mca');
    expect(confinePath('plugins/Essentials/config.yml')).to.equal('plugins/Essentials/config.yml');
    expect(confinePath('server%20icon.png')).to.equal('server icon.png');
    expect(confinePath('.hidden/file..txt')).to.equal('.hidden/file..txt');
    expect(confinePath('mondes/été.txt')).to.equal('mondes/été.txt');
  });
});
