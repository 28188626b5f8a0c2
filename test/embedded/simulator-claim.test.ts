import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BootError } from '../../kernel/api';
import { KernelSimulators } from '../../kernel/core/simulators';

describe('A kept simulated world has one owning process', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(path.join(tmpdir(), 'zpack-sim-claim-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const owner = () => path.join(dir, '.owner');

  it('refuses a second process while the owner lives, naming it and the way out', () => {
    // pid 1 always exists.
    writeFileSync(owner(), '1');
    const sims = new KernelSimulators(dir);
    // The first simulator asking where to keep its state claims the world.
    expect(() => sims.stateDir('proxmox')).to.throw(BootError, /in use by process 1 .*zpack simulators/).with.property('code', 'simulators_in_use');
    expect(readFileSync(owner(), 'utf8')).to.equal('1');
  });

  it('takes over a world whose owner is gone, and gives it up on stop', async () => {
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    writeFileSync(owner(), gone);
    const sims = new KernelSimulators(dir);
    expect(sims.stateDir('proxmox')).to.equal(path.join(dir, 'proxmox'));
    expect(readFileSync(owner(), 'utf8')).to.equal(String(process.pid));
    // Two kernels of one process (tests) share it.
    new KernelSimulators(dir).claim();
    await sims.withdraw();
    expect(existsSync(owner())).to.equal(false);
  });

  it('claims nothing for a world kept in memory, one another process runs (remote), or before any simulator asks', () => {
    new KernelSimulators(dir);
    expect(existsSync(owner())).to.equal(false);
    expect(new KernelSimulators('').stateDir('proxmox')).to.equal(undefined);
    const remote = new KernelSimulators(dir, { redis: () => { throw new Error('unused'); }, key: 'k', host: false, remote: true });
    remote.claim();
    expect(existsSync(owner())).to.equal(false);
  });
});
