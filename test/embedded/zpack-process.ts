import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { projectRoot, until } from '../harness';
import { freePort } from '../harness/redis-server';

const MAIN = path.join(projectRoot, 'dist', 'kernel', 'main.js');
/** Variables of the machine running the suite that would change what the process under test does. */
const OPERATOR_ENV = ['PORT', 'HOST', 'DATABASE_URL', 'REDIS_URL', 'ZPACK_ROLE', 'ZPACK_CONFIG', 'LOG_LEVEL'];

/**
 * One deployment of the embedded default: its own folder (mode 700, as `mktemp -d` makes it,
 * like a checkout under /root), embedded PostgreSQL, simulated world and port. The binaries'
 * copy and data land under `systemDir` when the postgres user cannot enter `home`.
 */
export class Deployment {
  readonly home = mkdtempSync(path.join(tmpdir(), 'zpack-home-'));
  readonly systemDir = mkdtempSync(path.join(tmpdir(), 'zpack-system-'));
  readonly config = path.join(this.home, 'zpack.yaml');
  port = 0;
  private running?: { child: ChildProcess; output: string[]; exit: Promise<number | null> };

  /** `homeMode` 0o755: a checkout every user may enter (the data stays in it). */
  constructor(homeMode = 0o700) {
    // Like /var/lib: every user may enter it.
    chmodSync(this.systemDir, 0o755);
    chmodSync(this.home, homeMode);
    writeFileSync(this.config, stringify({
      database: { embedded: { dir: path.join(this.home, 'data', 'pg'), systemDir: path.join(this.systemDir, 'zpack') } },
      redis: { url: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', prefix: `zt-emb-${randomBytes(4).toString('hex')}` },
      simulators: { stateDir: path.join(this.home, 'data', 'sim') },
      provisioning: { readyPollMs: 100 },
      logging: { level: 'info' },
      plugins: {
        email: { options: { outboxDir: path.join(this.home, 'data', 'outbox') } },
        agent: { options: { simulator: { bootMs: 100 } } },
      },
    }));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Everything the running (or last) process printed. */
  get output(): string {
    return this.running?.output.join('') ?? '';
  }

  /** `node dist/kernel/main.js all` with PORT set (the same port on every start, unless none was picked yet). */
  async start(): Promise<void> {
    this.port ||= await freePort();
    const child = spawn(process.execPath, [MAIN, 'all'], { cwd: projectRoot, env: this.env({ PORT: String(this.port) }), stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    child.stdout!.on('data', (c: Buffer) => output.push(c.toString()));
    child.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    this.running = { child, output, exit };
    await until('zpack to answer /readyz', async () => {
      if (child.exitCode !== null) throw new Error(`zpack exited (${child.exitCode}) while starting:\n${output.join('')}`);
      return (await fetch(`${this.url}/readyz`).catch(() => undefined))?.status;
    }, (status) => status === 200, 30_000, 100);
  }

  /** SIGTERM, as a supervisor or Ctrl-C stops it; resolves with the exit code. */
  async stop(): Promise<number | null> {
    const running = this.running;
    if (!running || running.child.exitCode !== null) return running?.child.exitCode ?? null;
    running.child.kill('SIGTERM');
    return running.exit;
  }

  /** A one-shot command (create-admin, migrate) of this deployment; resolves when it exits. */
  command(...args: string[]): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [MAIN, ...args], { cwd: projectRoot, env: this.env({ LOG_LEVEL: 'warn' }), stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout!.on('data', (c: Buffer) => (output += c));
      child.stderr!.on('data', (c: Buffer) => (output += c));
      child.once('exit', (code) => resolve({ code, output }));
    });
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.home, { recursive: true, force: true });
    rmSync(this.systemDir, { recursive: true, force: true });
  }

  private env(extra: Record<string, string>): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, ZPACK_CONFIG: this.config, ...extra };
    for (const key of OPERATOR_ENV) if (!(key in extra) && key !== 'ZPACK_CONFIG') delete env[key];
    return env;
  }
}
