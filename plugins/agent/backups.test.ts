import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { BackupView, InstanceView, RestoreView } from '../../kernel/api';
import { agentError, eventually, startAgentFixture, type AgentFixture } from './testing/fixture';

const run = promisify(execFile);

describe('InstanceAgent backups', () => {
  let fx: AgentFixture;
  let server: InstanceView;
  before(async () => {
    fx = await startAgentFixture();
  });
  after(() => fx.sim.stop());
  beforeEach(async () => {
    await fx.sim.reset();
    server = await fx.provision(401);
  });

  const file = (path: string) => join(fx.sim.rootOf(401), path);
  const readyBackup = (id: string) =>
    eventually(async () => (await fx.agent.listBackups(server)).find((b): b is BackupView => b.id === id && b.state === 'ready'));
  const finishedRestore = () =>
    eventually(async () => {
      const restore = await fx.agent.restoreStatus(server);
      return restore && restore.state !== 'running' ? restore : undefined;
    });
  const archiveOf = (id: string) => join(dirname(fx.sim.rootOf(401)), 'backups', `${id}.tar.gz`);

  it('creates a backup that becomes a real tar.gz of the server folder', async () => {
    const created = await fx.agent.createBackup(server, 'before mods');
    expect(created).to.include({ name: 'before mods', state: 'creating' });
    const ready = await readyBackup(created.id);
    expect(ready.sizeBytes).to.be.above(0);
    const { stdout } = await run('tar', ['-tzf', archiveOf(created.id)], { timeout: 5000 });
    expect(stdout.split('\n')).to.include.members(['./server.properties', './world/level.dat', './logs/latest.log']);
  });

  it('restores the server folder from a backup, polled until it succeeded', async () => {
    expect(await fx.agent.restoreStatus(server)).to.equal(null);
    const backup = await readyBackup((await fx.agent.createBackup(server, 'nightly')).id);
    await writeFile(file('server.properties'), 'motd=griefed\n');
    await rm(file('world/level.dat'));
    await writeFile(file('world/griefer.txt'), 'was here');

    const started = await fx.agent.restoreBackup(server, backup.id);
    expect(started).to.include({ backupId: backup.id, state: 'running', finishedAt: null, error: null });
    const finished = await finishedRestore();
    expect(finished).to.include({ id: started.id, state: 'succeeded', error: null });
    expect(finished.finishedAt).to.be.a('string');
    expect(await readFile(file('server.properties'), 'utf8')).to.contain('motd=A zpack server');
    expect(await readFile(file('world/level.dat'), 'utf8')).to.equal('simulated level data\n');
    expect(await readdir(file('world'))).to.not.include('griefer.txt');
  });

  it('deletes a backup and its archive; an unknown one is a 404 AgentError', async () => {
    const backup = await readyBackup((await fx.agent.createBackup(server, 'old')).id);
    await fx.agent.deleteBackup(server, backup.id);
    expect(await fx.agent.listBackups(server)).to.deep.equal([]);
    expect(await readFile(archiveOf(backup.id)).catch(() => 'gone')).to.equal('gone');
    const err = await agentError(fx.agent.deleteBackup(server, backup.id));
    expect(err.details.agent).to.deep.equal({ status: 404, body: { error: 'not_found', backupId: backup.id } });
    const restore = await agentError(fx.agent.restoreBackup(server, 'bk-nope'));
    expect(restore.details.agent).to.have.property('status', 404);
  });

  it('refuses to delete, restore again or back up while a restore runs (409)', async () => {
    // Incompressible data, so the restore lasts long enough to be caught running.
    await writeFile(file('world/region/r.1.1.mca'), randomBytes(48 * 1024 * 1024));
    const backup = await readyBackup((await fx.agent.createBackup(server, 'big')).id);
    await fx.agent.restoreBackup(server, backup.id);
    const conflicts = await Promise.all([
      agentError(fx.agent.deleteBackup(server, backup.id)),
      agentError(fx.agent.restoreBackup(server, backup.id)),
      agentError(fx.agent.createBackup(server, 'during')),
    ]);
    expect(conflicts.map((e) => e.details.agent)).to.deep.equal(Array(3).fill({ status: 409, body: { error: 'restore_running' } }));
    expect(await finishedRestore()).to.have.property('state', 'succeeded');
    await fx.agent.deleteBackup(server, backup.id);
  });

  it('reports a failed restore and leaves the server folder as it was', async () => {
    const backup = await readyBackup((await fx.agent.createBackup(server, 'corrupt')).id);
    await writeFile(archiveOf(backup.id), 'not a gzip archive');
    await writeFile(file('server.properties'), 'motd=current\n');
    await fx.agent.restoreBackup(server, backup.id);
    const failed: RestoreView = await finishedRestore();
    expect(failed.state).to.equal('failed');
    expect(failed.error).to.contain('tar');
    expect(await readFile(file('server.properties'), 'utf8')).to.equal('motd=current\n');
  });

  it('turns an answer of the wrong shape into an AgentError keeping the status and body', async () => {
    fx.sim.faults.failNext(1, 200, { items: [] });
    const err = await agentError(fx.agent.listBackups(server));
    expect(err.message).to.contain('list backups');
    expect(err.details.agent).to.deep.equal({ status: 200, body: { items: [] } });
  });

  it('names a backup by date when the name is blank, and refuses one over 100 characters (400)', async () => {
    expect((await fx.agent.createBackup(server, '  ')).name).to.match(/^backup-\d{4}-\d{2}-\d{2}T/);
    const err = await agentError(fx.agent.createBackup(server, 'x'.repeat(101)));
    expect(err.details.agent).to.deep.equal({ status: 400, body: { error: 'invalid_name' } });
  });
});
