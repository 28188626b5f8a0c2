import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { unzipSync } from 'fflate';
import type { SimDisk } from './sim-disk';

/** A download refused or failed; `status` and `body` are the agent's answer. */
export class StagingError extends Error {
  constructor(readonly status: number, readonly body: Record<string, unknown>) {
    super(String(body.error));
  }
}

export type StagedChange =
  | { put: { id: string; path: string } }
  | { move: { from: string; to: string } }
  | { delete: { path: string } };

/** Largest download the simulated agent takes. */
const DOWNLOAD_LIMIT_BYTES = 256 * 1024 * 1024;
const DOWNLOAD_TIMEOUT_MS = 30_000;
const ID = /^[a-f0-9-]{36}$/;

/**
 * Downloads checked against a sha512 into staging (beside the server folder, never in it), then
 * applied to the server folder as one batch that is undone whole when any step fails: a mod
 * change leaves the folder either changed completely or exactly as it was.
 */
export class SimStaging {
  constructor(private readonly disk: SimDisk) {}

  private fileOf(id: string): string {
    return this.disk.stagingFile(`fetch-${id}`);
  }

  /** Streams `url` into staging, hashing as it goes; a mismatch keeps nothing. */
  async fetch(url: string, sha512: string, sizeBytes?: number): Promise<{ id: string; sha512: string; sizeBytes: number }> {
    if (!/^https?:\/\//.test(url)) throw new StagingError(400, { error: 'invalid_url', url });
    let res: Response;
    try {
      res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
    } catch (err) {
      throw new StagingError(502, { error: 'download_failed', status: 0, reason: (err as Error).message });
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new StagingError(502, { error: 'download_failed', status: res.status });
    }
    const id = randomUUID();
    const file = this.fileOf(id);
    const hash = createHash('sha512');
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > DOWNLOAD_LIMIT_BYTES) return done(new StagingError(413, { error: 'too_large', limitBytes: DOWNLOAD_LIMIT_BYTES }));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(Readable.fromWeb(res.body as never), counter, createWriteStream(file));
    } catch (err) {
      await unlink(file).catch(() => undefined);
      if (err instanceof StagingError) throw err;
      throw new StagingError(502, { error: 'download_failed', status: res.status, reason: (err as Error).message });
    }
    const actual = hash.digest('hex');
    if (actual !== sha512.toLowerCase() || (sizeBytes !== undefined && sizeBytes !== size)) {
      await unlink(file).catch(() => undefined);
      throw new StagingError(422, { error: 'hash_mismatch', expected: sha512, actual, sizeBytes: size });
    }
    return { id, sha512: actual, sizeBytes: size };
  }

  async discard(id: string): Promise<void> {
    if (ID.test(id)) await rm(this.fileOf(id), { force: true });
  }

  /**
   * Applies the changes in order. Everything is checked first (paths confined, staged files and
   * sources present); what a failing step had already changed is put back before answering.
   */
  async apply(changes: StagedChange[]): Promise<number> {
    const steps: Array<{ kind: 'put' | 'move' | 'delete'; from?: string; to?: string }> = [];
    for (const change of changes) {
      if ('put' in change) {
        if (!ID.test(change.put.id)) throw new StagingError(404, { error: 'not_staged', id: change.put.id });
        const from = this.fileOf(change.put.id);
        if (!(await exists(from))) throw new StagingError(404, { error: 'not_staged', id: change.put.id });
        steps.push({ kind: 'put', from, to: await this.confined(change.put.path) });
      } else if ('move' in change) {
        const from = await this.confined(change.move.from);
        if (!(await exists(from))) throw new StagingError(404, { error: 'not_found', path: change.move.from });
        steps.push({ kind: 'move', from, to: await this.confined(change.move.to) });
      } else if ('delete' in change) {
        steps.push({ kind: 'delete', to: await this.confined(change.delete.path) });
      } else {
        throw new StagingError(400, { error: 'invalid_change' });
      }
    }
    const undo: Array<() => Promise<void>> = [];
    const aside = this.disk.stagingFile(`aside-${randomUUID()}`);
    await mkdir(aside, { recursive: true });
    try {
      let n = 0;
      for (const step of steps) {
        // Whatever the step replaces or deletes is kept aside until the batch is through.
        if (step.to && (await exists(step.to))) {
          const kept = join(aside, String(n++));
          await rename(step.to, kept);
          const to = step.to;
          undo.push(() => rename(kept, to));
        }
        if (step.kind === 'delete') continue;
        await mkdir(dirname(step.to!), { recursive: true });
        await rename(step.from!, step.to!);
        const [from, to] = [step.from!, step.to!];
        undo.push(() => rename(to, from));
      }
    } catch (err) {
      for (const back of undo.reverse()) await back().catch(() => undefined);
      await rm(aside, { recursive: true, force: true });
      throw new StagingError(500, { error: 'apply_failed', reason: (err as Error).message });
    }
    await rm(aside, { recursive: true, force: true });
    return steps.length;
  }

  /**
   * A modpack, before the first boot: every server-side file downloaded and checked, then the
   * archive's `overrides/` and `server-overrides/` (the latter wins) laid over the folder.
   */
  async installModpack(pack: ModpackPayload): Promise<void> {
    const staged: string[] = [];
    try {
      const changes: StagedChange[] = [];
      for (const file of pack.files) {
        const { id } = await this.fetch(file.url, file.sha512, file.sizeBytes);
        staged.push(id);
        changes.push({ put: { id, path: file.path } });
      }
      await this.apply(changes);
      if (!pack.archive) return;
      const { id } = await this.fetch(pack.archive.url, pack.archive.sha512);
      staged.push(id);
      const entries = unzipSync(await readFile(this.fileOf(id)));
      for (const prefix of ['overrides/', 'server-overrides/']) {
        for (const [name, bytes] of Object.entries(entries)) {
          if (!name.startsWith(prefix) || name.endsWith('/')) continue;
          const target = await this.confined(name.slice(prefix.length));
          await mkdir(dirname(target), { recursive: true });
          await writeFile(target, bytes);
        }
      }
    } finally {
      for (const id of staged) await this.discard(id);
    }
  }

  private async confined(rel: string): Promise<string> {
    const abs = typeof rel === 'string' && rel !== '' ? await this.disk.confine(rel) : undefined;
    if (!abs || abs === this.disk.root) throw new StagingError(400, { error: 'invalid_path', path: rel });
    return abs;
  }
}

export interface ModpackPayload {
  files: Array<{ path: string; url: string; sha512: string; sizeBytes?: number }>;
  archive?: { url: string; sha512: string };
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}
