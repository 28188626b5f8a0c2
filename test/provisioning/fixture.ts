import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import agentPlugin from '../../plugins/agent';
import { AgentSimulator } from '../../plugins/agent/testing/simulator';
import minecraftPlugin from '../../plugins/minecraft';
import proxmoxPlugin from '../../plugins/proxmox';
import { ProxmoxSimulator, SIMULATOR_TOKEN, type ProxmoxSimulatorOptions } from '../../plugins/proxmox/testing/simulator';
import { deepMerge } from '../../kernel/core/config';
import { distRoot, projectRoot, startTestKernel, type TestKernel, type TestKernelOptions, type TestUser } from '../harness';

export interface Fleet {
  proxmox: ProxmoxSimulator;
  agents: AgentSimulator;
  stop(): Promise<void>;
}

/** Loopback simulators of Proxmox and the in-container agents, wired the way production is. */
export async function startFleet(proxmox: ProxmoxSimulatorOptions = {}, agentBootMs = 30): Promise<Fleet> {
  const agents = await new AgentSimulator({ port: 0, bootMs: agentBootMs }).start();
  const px = new ProxmoxSimulator({ taskMs: 5, agentSimulatorUrl: agents.url, ...proxmox });
  await px.start();
  return { proxmox: px, agents, stop: async () => { await px.stop(); await agents.stop(); } };
}

/** Config enabling the real proxmox, agent and minecraft plugins against a fleet of simulators. */
export function fleetConfig(fleet: Fleet, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return deepMerge({
    quota: { defaultMaxInstances: 100 },
    provisioning: { readyPollMs: 25, readyTimeoutSeconds: 10, leaseSeconds: 3 },
    queues: { lockDurationMs: 3000, stalledIntervalMs: 1000 },
    plugins: {
      proxmox: {
        enabled: true,
        options: {
          simulate: false, baseUrl: fleet.proxmox.url, tokenId: SIMULATOR_TOKEN.id, tokenSecret: SIMULATOR_TOKEN.secret,
          agentEndpoint: `${fleet.agents.url}/ct/{vmid}`, taskPollMs: 10, timeoutMs: 3000, retries: 2,
        },
      },
      agent: { enabled: true, options: { simulate: false, timeoutMs: 2000, readyTimeoutMs: 1000 } },
      minecraft: { enabled: true, options: {} },
    },
  }, extra);
}

export const fleetPlugins = [proxmoxPlugin, agentPlugin, minecraftPlugin];

export async function startFleetKernel(fleet: Fleet, opts: Omit<TestKernelOptions, 'plugins'> & { config?: Record<string, unknown> } = {}): Promise<TestKernel> {
  return startTestKernel({ ...opts, plugins: fleetPlugins, config: fleetConfig(fleet, opts.config ?? {}) });
}

export const gameBody = (name = 'Survival', options: Record<string, unknown> = { version: '1.21.4', flavor: 'paper', memoryMb: 2048 }) =>
  ({ kind: 'game', type: 'minecraft', name, options });

export async function create(user: TestUser, key: string, body: unknown = gameBody()) {
  return user.http.post('/api/instances', body, { headers: { 'idempotency-key': key } });
}

/** Polls an operation until it leaves queued/running. */
export async function settle(user: TestUser, operationId: string, timeoutMs = 20_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await user.http.get(`/api/operations/${operationId}`);
    expect(res.status).to.equal(200);
    if (res.body.state !== 'queued' && res.body.state !== 'running') return res.body;
    if (Date.now() > deadline) throw new Error(`operation ${operationId} still ${res.body.state} (${res.body.phase}) after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What Postgres says is allocated, to compare with what the simulator holds. */
export async function allocations(tk: TestKernel): Promise<{ vmids: number[]; ports: number[] }> {
  const vmids = (await tk.kernel.ds.query(`SELECT vmid FROM vmid_allocation WHERE instance_id IS NOT NULL ORDER BY vmid`)).map((r: any) => r.vmid);
  const ports = (await tk.kernel.ds.query(`SELECT port FROM port_allocation ORDER BY port`)).map((r: any) => r.port);
  return { vmids, ports };
}

/**
 * Mocha before/after hooks that boot a fleet and a kernel against it for the enclosing
 * describe; the returned object is filled in once `before` has run.
 */
export function useFleetKernel(config: Record<string, unknown> = {}): { fleet: Fleet; tk: TestKernel } {
  const env = {} as { fleet: Fleet; tk: TestKernel };
  before(async () => {
    env.fleet = await startFleet();
    env.tk = await startFleetKernel(env.fleet, { config });
  });
  after(async () => {
    await env.tk?.stop();
    await env.fleet?.stop();
  });
  return env;
}

/** Polls `check` until it returns something truthy; fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T> | T, what: string, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The operation's row once it is parked between two readiness checks (no worker holds it), with
 * the VMID and ports its instance row holds.
 */
export async function parkedInWaitReady(
  tk: TestKernel, operationId: string,
): Promise<{ checkpoint: any; phase: string; vmid: number; ports: Array<{ name: string; port: number }> }> {
  return waitFor(async () => {
    const [row] = await tk.kernel.ds.query(
      `SELECT o.checkpoint, o.phase, i.vmid, i.ports FROM provisioning_operation o JOIN instance i ON i.id = o.instance_id
       WHERE o.id = $1 AND o.phase = 'wait_ready' AND o.state = 'running' AND o.lease_owner IS NULL`, [operationId]);
    return row?.checkpoint.readyChecks ? row : undefined;
  }, `operation ${operationId} is parked in wait_ready`);
}

export interface WorkerProcess {
  child: ChildProcess;
  /** Everything the child wrote, to print when a test fails. */
  output(): string;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
}

/**
 * A provision worker in a child process, sharing the api kernel's database and Redis and the
 * fleet's simulators. Its own plugins start no simulator, so it holds no fixed port.
 */
export function spawnProvisionWorker(fleet: Fleet, api: TestKernel, extra: Record<string, unknown> = {}): WorkerProcess {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'zpack-worker-')), 'worker.yaml');
  const c = api.config;
  const base = fleetConfig(fleet, extra);
  writeFileSync(file, stringify({
    ...base,
    database: { url: c.database.url, schema: c.database.schema },
    redis: { url: c.redis.url, prefix: c.redis.prefix },
    auth: { jwtSecret: c.auth.jwtSecret },
    logging: { level: 'warn' },
    plugins: { ...(base.plugins as object), email: { enabled: false }, cloudflare: { enabled: false }, velocity: { enabled: false } },
  }));
  const env: NodeJS.ProcessEnv = { ...process.env, ZPACK_CONFIG: file };
  for (const k of ['PORT', 'DATABASE_URL', 'REDIS_URL', 'ZPACK_ROLE']) delete env[k];
  const child = spawn(process.execPath, [path.join(distRoot, 'kernel', 'main.js'), 'provision-worker'], { env, cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => output,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
