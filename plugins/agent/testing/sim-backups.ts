import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackupView, RestoreView } from '../../../kernel/api';
import type { SimDisk } from './sim-disk';

/** A backup of a big world takes a while, but a tar that hangs must not hold a test forever. */
const TAR_TIMEOUT_MS = 10 * 60_000;
const STDERR_LIMIT = 2048;

/**
 * The agent's local backups: tar.gz archives of the whole server folder, made and restored by
 * the system tar in the background while the caller polls.
 */
export class SimBackups {
  private readonly backups = new Map<string, BackupView>();
  private latest: RestoreView | null = null;
  private readonly running = new Set<AbortController>();

  constructor(private readonly disk: SimDisk) {}

  list(): BackupView[] {
    return [...this.backups.values()].map((b) => ({ ...b }));
  }

  get(id: string): BackupView | undefined {
    const backup = this.backups.get(id);
    return backup && { ...backup };
  }

  /** The restore in progress, if any: only one at a time, and nothing else touches backups meanwhile. */
  get restoring(): RestoreView | undefined {
    return this.latest?.state === 'running' ? { ...this.latest } : undefined;
  }

  latestRestore(): RestoreView | null {
    return this.latest && { ...this.latest };
  }

  /** Answers at once with state 'creating'; the archive is written in the background. */
  create(name: string): BackupView {
    const id = `bk-${randomUUID()}`;
    const backup: BackupView = { id, name, sizeBytes: 0, createdAt: new Date().toISOString(), state: 'creating' };
    this.backups.set(id, backup);
    void this.archive(backup);
    return { ...backup };
  }

  restore(backupId: string): RestoreView {
    const restore: RestoreView = {
      id: `rs-${randomUUID()}`, backupId, state: 'running', startedAt: new Date().toISOString(), finishedAt: null, error: null,
    };
    this.latest = restore;
    void this.extract(restore);
    return { ...restore };
  }

  async delete(id: string): Promise<void> {
    this.backups.delete(id);
    await rm(this.archivePath(id), { force: true });
  }

  /** Backups saved by an earlier run; an archive it was still writing is found whole or failed. */
  reload(saved: BackupView[]): void {
    for (const backup of saved) {
      const state = backup.state === 'creating' ? (existsSync(this.archivePath(backup.id)) ? 'ready' : 'failed') : backup.state;
      this.backups.set(backup.id, { ...backup, state });
    }
  }

  /** Kills running tars: the container is going away. */
  dispose(): void {
    for (const run of this.running) run.abort();
  }

  /** Where a ready backup's .tar.gz lies (downloads stream it). */
  archiveOf(id: string): string {
    return this.archivePath(id);
  }

  private archivePath(id: string): string {
    return join(this.disk.backupsDir, `${id}.tar.gz`);
  }

  private async archive(backup: BackupView): Promise<void> {
    const partial = `${this.archivePath(backup.id)}.partial`;
    try {
      await this.tar(['-czf', partial, '-C', this.disk.root, '.']);
      await rename(partial, this.archivePath(backup.id));
      backup.sizeBytes = (await stat(this.archivePath(backup.id))).size;
      backup.state = 'ready';
    } catch {
      backup.state = 'failed';
      await rm(partial, { force: true });
    }
  }

  /** Extracts beside the server folder, then swaps it in, so a failed restore leaves the old files whole. */
  private async extract(restore: RestoreView): Promise<void> {
    const extracted = this.disk.stagingPath('restore');
    const replaced = this.disk.stagingPath('replaced');
    try {
      await mkdir(extracted);
      await this.tar(['-xzf', this.archivePath(restore.backupId), '-C', extracted]);
      await rename(this.disk.root, replaced);
      await rename(extracted, this.disk.root);
      restore.state = 'succeeded';
    } catch (err) {
      // Puts the old folder back if it was moved away but the new one never took its place.
      await rename(replaced, this.disk.root).catch(() => undefined);
      restore.state = 'failed';
      restore.error = (err as Error).message;
    } finally {
      restore.finishedAt = new Date().toISOString();
      await rm(extracted, { recursive: true, force: true });
      await rm(replaced, { recursive: true, force: true });
    }
  }

  private tar(args: string[]): Promise<void> {
    const run = new AbortController();
    this.running.add(run);
    return new Promise<void>((resolve, reject) => {
      const child = spawn('tar', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: TAR_TIMEOUT_MS, killSignal: 'SIGKILL', signal: run.signal });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString('utf8')).slice(0, STDERR_LIMIT);
      });
      child.once('error', reject);
      child.once('close', (code, signal) => {
        if (code === 0) resolve();
        else reject(new Error(`tar ${code === null ? `killed by ${signal}` : `exited ${code}`}: ${stderr.trim()}`));
      });
    }).finally(() => this.running.delete(run));
  }
}
