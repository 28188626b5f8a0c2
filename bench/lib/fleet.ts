import { randomBytes } from 'node:crypto';
import { fleetConfig, gameBody, startFleet, type Fleet } from '../../test/provisioning/fixture';
import { sleep } from './concurrency';
import { startZpack, type ZpackProcess } from './zpack-process';

export type { Fleet } from '../../test/provisioning/fixture';

/** Proxmox and agent simulators in this process with nothing simulated slowly: tasks end at once, servers boot at once. */
export const startInstantFleet = (): Promise<Fleet> => startFleet({ taskMs: 0 }, 0);

/**
 * `zpack all` in its own process, driving the simulators of this process with the real proxmox,
 * agent and minecraft plugins: the child's memory and CPU are the kernel's alone.
 */
export function startZpackOnFleet(fleet: Fleet): Promise<ZpackProcess> {
  return startZpack({ role: 'all', plugins: fleetPluginOptions(fleet) });
}

/** Options of the real proxmox, agent and minecraft plugins, pointed at the fleet's simulators. */
export function fleetPluginOptions(fleet: Fleet): Record<string, Record<string, unknown>> {
  const plugins = fleetConfig(fleet).plugins as Record<string, { options: Record<string, unknown> }>;
  return { proxmox: plugins.proxmox.options, agent: plugins.agent.options, minecraft: plugins.minecraft.options };
}

const TIMEOUT_MS = 10_000;

async function call(baseUrl: string, method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(baseUrl + path, {
    method,
    headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await res.text();
  return { status: res.status, body: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

/** Registers and logs in a fresh account through the public API; returns its access token. */
export async function signUp(baseUrl: string): Promise<string> {
  const credentials = { email: `bench-${randomBytes(4).toString('hex')}@example.test`, password: randomBytes(12).toString('base64url') };
  const registered = await call(baseUrl, 'POST', '/api/auth/register', undefined, credentials);
  if (registered.status !== 201) throw new Error(`register answered ${registered.status}: ${JSON.stringify(registered.body)}`);
  const login = await call(baseUrl, 'POST', '/api/auth/login', undefined, credentials);
  if (login.status !== 200) throw new Error(`login answered ${login.status}: ${JSON.stringify(login.body)}`);
  return login.body.accessToken as string;
}

export interface ProvisionedServer {
  id: string;
  vmid: number;
}

/** Creates a Minecraft server through the API and waits until its operation succeeded. */
export async function createServer(baseUrl: string, token: string, timeoutMs = 30_000): Promise<ProvisionedServer> {
  const accepted = await call(baseUrl, 'POST', '/api/instances', token, gameBody(`bench ${randomBytes(3).toString('hex')}`), { 'idempotency-key': randomBytes(8).toString('hex') });
  if (accepted.status !== 202) throw new Error(`POST /api/instances answered ${accepted.status}: ${JSON.stringify(accepted.body)}`);
  const opId = accepted.body.operation.id as string;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const op = await call(baseUrl, 'GET', `/api/operations/${opId}`, token);
    if (op.body.state === 'succeeded') break;
    if (op.body.state !== 'queued' && op.body.state !== 'running') throw new Error(`operation ${opId} ended ${op.body.state}: ${JSON.stringify(op.body.error)}`);
    if (Date.now() > deadline) throw new Error(`operation ${opId} still ${op.body.state} (${op.body.phase}) after ${timeoutMs} ms`);
    await sleep(50);
  }
  const id = accepted.body.operation.instanceId as string;
  const server = await call(baseUrl, 'GET', `/api/servers/${id}`, token);
  if (server.status !== 200) throw new Error(`GET /api/servers/${id} answered ${server.status}`);
  return { id, vmid: server.body.server.vmid as number };
}

/** The bearer the agent simulator stored when the kernel provisioned the container (the kernel derives it, never stores it). */
export function agentTokenOf(fleet: Fleet, vmid: number): string {
  const token = fleet.agents.containers().get(vmid)?.token;
  if (!token) throw new Error(`the agent simulator holds no token for container ${vmid}`);
  return token;
}
