import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { freePort, probe } from '../../../bench/lib/server-process';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const MAIN = path.join(ROOT, 'dist', 'kernel', 'main.js');
/** Variables of the machine running the suite that would change what the process under test does. */
const OPERATOR_ENV = ['PORT', 'HOST', 'DATABASE_URL', 'REDIS_URL', 'ZPACK_ROLE', 'ZPACK_CONFIG', 'LOG_LEVEL'];
const secret = (prefix = '') => prefix + randomBytes(24).toString('base64url');

/**
 * The secrets this deployment runs with, passed the way config/default.yaml reads them (from the
 * environment), so the suite knows exactly what must never reach a browser.
 */
export interface Secrets {
  jwt: string;
  agent: string;
  proxmoxTokenId: string;
  proxmoxTokenSecret: string;
  cloudflareToken: string;
  bridgeToken: string;
  stripeKey: string;
  stripeWebhook: string;
}

/** Where the running embedded default's simulators listen, as it logged them at start. */
export interface SimulatorUrls {
  proxmox: string;
  cloudflare: string;
  velocity: string;
}

/**
 * The embedded default as a newcomer starts it (`node dist/kernel/main.js all` with
 * config/default.yaml), on a fresh data folder of its own (embedded PostgreSQL, simulated world,
 * mail outbox), its own PORT and its own Redis key prefix, overlaid with ZPACK_CONFIG.
 */
export class EmbeddedDefault {
  readonly home = mkdtempSync(path.join(tmpdir(), 'zpack-e2e-'));
  readonly prefix = `zpack-e2e-${randomBytes(4).toString('hex')}`;
  readonly secrets: Secrets = {
    jwt: secret(), agent: secret(), proxmoxTokenId: 'zpack@pve!e2e', proxmoxTokenSecret: secret(), cloudflareToken: secret(),
    bridgeToken: secret(), stripeKey: secret('sk_test_'), stripeWebhook: secret('whsec_'),
  };
  port = 0;
  private child?: ChildProcess;
  private exited?: Promise<number | null>;
  private lines: string[] = [];

  constructor() {
    // The postgres user (PostgreSQL runs as it under root) must enter the data folder.
    chmodSync(this.home, 0o755);
    writeFileSync(this.configFile, stringify({
      database: { embedded: { dir: path.join(this.home, 'data', 'pg'), systemDir: path.join(this.home, 'system') } },
      redis: { prefix: this.prefix },
      simulators: { stateDir: path.join(this.home, 'data', 'sim') },
      plugins: {
        email: { options: { outboxDir: path.join(this.home, 'data', 'outbox') } },
        modrinth: { options: { cache: { keyPrefix: `${this.prefix}:modrinth` } } },
      },
    }));
  }

  get configFile(): string {
    return path.join(this.home, 'zpack.yaml');
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Everything it printed so far. */
  get output(): string {
    return this.lines.join('');
  }

  /** Starts it and resolves once /readyz answers 200. */
  async start(timeoutMs = 90_000): Promise<void> {
    this.port = await freePort();
    const child = spawn(process.execPath, ['--enable-source-maps', MAIN, 'all'], { cwd: ROOT, env: this.env({ PORT: String(this.port) }), stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.on('data', (c: Buffer) => this.lines.push(c.toString()));
    child.stderr!.on('data', (c: Buffer) => this.lines.push(c.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`zpack exited (${child.exitCode ?? child.signalCode}) while starting:\n${this.tail()}`);
      if ((await probe(`${this.url}/readyz`)) === 200) return;
      if (Date.now() > deadline) throw new Error(`zpack did not answer /readyz within ${timeoutMs} ms:\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The simulators' URLs from its start log (`<name> simulator listening`, with the url). */
  simulators(): SimulatorUrls {
    const found: Record<string, string> = {};
    for (const line of this.output.split('\n')) {
      if (!line.startsWith('{')) continue;
      let entry: { msg?: string; url?: string };
      try {
        entry = JSON.parse(line);
      } catch {
        continue;
      }
      const m = /^(\w+) (?:bridge )?simulator listening/.exec(entry.msg ?? '');
      if (m && entry.url) found[m[1]] = entry.url;
    }
    for (const name of ['proxmox', 'cloudflare', 'velocity']) {
      if (!found[name]) throw new Error(`the ${name} simulator's address is not in the start log`);
    }
    return found as unknown as SimulatorUrls;
  }

  /** A one-shot command of this deployment (create-admin …), against the PostgreSQL the running one started. */
  command(...args: string[]): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, env: this.env({ LOG_LEVEL: 'warn' }), stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout!.on('data', (c: Buffer) => (output += c));
      child.stderr!.on('data', (c: Buffer) => (output += c));
      child.once('exit', (code) => resolve({ code, output }));
    });
  }

  /** SIGTERM (Ctrl-C), SIGKILL after 40 s; resolves with the exit code. */
  async stop(): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), 40_000);
    const code = await this.exited!;
    clearTimeout(kill);
    return code;
  }

  /** Stops it, removes its folder and the Redis keys under its prefix. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.home, { recursive: true, force: true });
    const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1, connectTimeout: 3000 });
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${this.prefix}*`, 'COUNT', 500);
        if (keys.length) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  }

  tail(lines = 40): string {
    return this.output.trimEnd().split('\n').slice(-lines).map((l) => `      ${l}`).join('\n');
  }

  private env(extra: Record<string, string>): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const key of OPERATOR_ENV) delete env[key];
    const s = this.secrets;
    return {
      ...env, ZPACK_CONFIG: this.configFile, ...extra,
      ZPACK_JWT_SECRET: s.jwt, ZPACK_AGENT_SECRET: s.agent, PROXMOX_TOKEN_ID: s.proxmoxTokenId, PROXMOX_TOKEN_SECRET: s.proxmoxTokenSecret,
      CLOUDFLARE_API_TOKEN: s.cloudflareToken, VELOCITY_BRIDGE_TOKEN: s.bridgeToken, STRIPE_SECRET_KEY: s.stripeKey, STRIPE_WEBHOOK_SECRET: s.stripeWebhook,
    };
  }
}
