import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startEmbeddedPostgres, type RunningPostgres } from '../../kernel/core/embedded-postgres';
import { freePort } from './redis-server';

/** Where the embedded default copies PostgreSQL's binaries when the `postgres` user cannot enter the checkout. */
const SYSTEM_DIR = '/var/lib/zpack';

/**
 * A private PostgreSQL for tests that stop Postgres without disturbing the machine's, which every
 * other suite shares. It runs the way the embedded default does (the same binaries, placed where
 * the `postgres` user can reach them when the checkout sits in a private folder).
 */
export class PrivatePostgres {
  private cluster?: RunningPostgres;
  private dir = '';
  private dataDir = '';
  port = 0;

  get url(): string {
    return `postgres://postgres:postgres@127.0.0.1:${this.port}/zpack`;
  }

  /** Initialises a cluster on first use, then starts it (on the same port and data after a stop). */
  async start(): Promise<this> {
    if (this.cluster) return this;
    if (!this.dir) {
      this.port = await freePort();
      this.dir = mkdtempSync(path.join(tmpdir(), 'zpack-pg-'));
      chmodSync(this.dir, 0o755);
    }
    this.cluster = await startEmbeddedPostgres({
      root: this.dir, dir: 'data', systemDir: SYSTEM_DIR, port: this.port, logger: pino({ level: 'silent' }),
    });
    this.dataDir = this.cluster.dataDir;
    return this;
  }

  /** A fast shutdown: open sessions are terminated (57P01), as in a restart or failover. */
  async stop(): Promise<void> {
    const cluster = this.cluster;
    this.cluster = undefined;
    await cluster?.stop();
  }

  async destroy(): Promise<void> {
    await this.stop();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    // Moved under SYSTEM_DIR when the postgres user could not enter the temporary folder.
    if (this.dataDir && !this.dataDir.startsWith(this.dir)) rmSync(path.dirname(this.dataDir), { recursive: true, force: true });
  }
}
