import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { createServer } from 'node:net';
import { constants } from 'node:os';
import { performance } from 'node:perf_hooks';

export interface ServerProcess {
  name: string;
  pid: number;
  port: number;
  url: string;
  /** Milliseconds from spawn to the first 200 on the ready path (or to the ready line). */
  coldStartMs: number;
  /** SIGTERM, then wait for the exit (SIGKILL after the grace period); resolves to the exit code. */
  stop(): Promise<number | null>;
  /** With `ipc`: sends `message` over the IPC channel and resolves to the child's next message. */
  ask<T>(message: unknown): Promise<T>;
}

export interface SpawnServerOptions {
  name: string;
  /** Arguments to `node` (flags, then the script and its arguments). */
  args: string[];
  env: NodeJS.ProcessEnv;
  port: number;
  readyPath: string;
  /** For a process that serves no HTTP: ready once its output has a line matching this (readyPath is then unused). */
  readyLine?: RegExp;
  /** Open an IPC channel to the child (for a --require'd probe that answers `ask`). */
  ipc?: boolean;
  readyTimeoutMs?: number;
  stopGraceMs?: number;
  /** Runs once the process has exited, however it ended (removes what it may have left behind). */
  afterExit?: () => Promise<void>;
}

const POLL_MS = 10;
const TAIL_BYTES = 8192;

/** Children still running, so an interrupted run can still stop them (see stopAllServers). */
const running = new Map<ChildProcess, () => Promise<number | null>>();

/** A port free right now; another process could take it before the child binds it, which on loopback is rare enough. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Status of one GET with a fresh connection, or 0 when nothing answers within the timeout. */
export function probe(url: string, timeoutMs = 1000): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Spawns `node <args>` and waits until `readyPath` answers 200; the cold start is timed from spawn. */
export async function spawnServer(opts: SpawnServerOptions): Promise<ServerProcess> {
  const { name, port, readyPath, readyTimeoutMs = 60_000, stopGraceMs = 35_000 } = opts;
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = spawn(process.execPath, opts.args, { env: opts.env, stdio: ['ignore', 'pipe', 'pipe', ...(opts.ipc ? ['ipc' as const] : [])] });
  let tail = '';
  let sawReadyLine = false;
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-TAIL_BYTES);
    if (opts.readyLine?.test(tail)) sawReadyLine = true;
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + constants.signals[signal] : null))));

  let stopping: Promise<number | null> | undefined;
  const stop = (): Promise<number | null> => (stopping ??= (async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), stopGraceMs);
    const code = await exited;
    clearTimeout(kill);
    running.delete(child);
    if (code !== 0) console.error(`  ! ${name} (pid ${child.pid}) exited with ${code}\n${indent(tail)}`);
    await opts.afterExit?.();
    return code;
  })());
  running.set(child, stop);

  const deadline = started + readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      running.delete(child);
      await opts.afterExit?.();
      throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before ${readyPath} answered 200:\n${indent(tail)}`);
    }
    if (opts.readyLine ? sawReadyLine : (await probe(url + readyPath)) === 200) break;
    if (performance.now() > deadline) {
      await stop();
      throw new Error(`${name}: ${readyPath} did not answer 200 within ${readyTimeoutMs} ms:\n${indent(tail)}`);
    }
    await sleep(POLL_MS);
  }
  const ask = <T>(message: unknown): Promise<T> => new Promise((resolve, reject) => {
    if (!child.connected) return reject(new Error(`${name}: no IPC channel`));
    child.once('message', (answer) => resolve(answer as T));
    child.send(message as object);
  });
  return { name, pid: child.pid!, port, url, coldStartMs: performance.now() - started, stop, ask };
}

/** Stops every child still running (interrupted or failed runs). */
export async function stopAllServers(): Promise<void> {
  await Promise.all([...running.values()].map((stop) => stop()));
}

/** Last resort when the bench process dies: SIGTERM lets each child drain and drop its schema on its own. */
export function signalAllServers(): void {
  for (const child of running.keys()) child.kill('SIGTERM');
}

const indent = (text: string) => text.trimEnd().split('\n').map((l) => `      ${l}`).join('\n');
