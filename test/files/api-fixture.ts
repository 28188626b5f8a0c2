import { expect } from 'chai';
import type { SimRequestRecord } from '../../plugins/agent/testing/simulator';
import type { TestKernel, TestUser } from '../harness';
import { create, settle, type Fleet } from '../provisioning/fixture';

/** A running game server as the tests need it: its API id and the simulated container behind it. */
export interface GameServer {
  id: string;
  vmid: number;
}

/** Creates a game server through the API and waits until it runs (the agent has seeded its folder). */
export async function gameServer(user: TestUser, key: string): Promise<GameServer> {
  const res = await create(user, key);
  expect(res.status, res.text).to.equal(202);
  const op = await settle(user, res.body.operation.id);
  expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
  const server = (await user.http.get(`/api/servers/${op.instanceId}`)).body.server;
  return { id: server.id, vmid: server.vmid };
}

/** The canonical and the compatibility prefix of the file routes. */
export const PREFIXES = {
  canonical: (id: string) => `/api/servers/${id}`,
  compat: (id: string) => `/api/game/servers/${id}`,
} as const;
export type PrefixName = keyof typeof PREFIXES;

/** Every file route of API.md, as (method, suffix). */
export const FILE_ROUTES: ReadonlyArray<{ method: string; suffix: string; body: boolean }> = [
  { method: 'GET', suffix: '/files', body: false },
  { method: 'GET', suffix: '/files/stat', body: false },
  { method: 'GET', suffix: '/files/content', body: false },
  { method: 'GET', suffix: '/files/download', body: false },
  { method: 'PUT', suffix: '/files/content', body: true },
  { method: 'POST', suffix: '/files/revert', body: false },
  { method: 'POST', suffix: '/files/upload', body: true },
  { method: 'DELETE', suffix: '/files', body: false },
];

export interface RawResponse {
  status: number;
  headers: Headers;
  bytes: Buffer;
  /** Parsed JSON when the answer says JSON, else undefined. */
  json: any;
}

/** fetch with a bearer, keeping the body as bytes (downloads are binary). */
export async function call(
  tk: TestKernel, token: string | undefined, method: string, path: string,
  opts: { body?: Buffer | string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(tk.url + path, { method, headers, body: opts.body as any });
  const bytes = Buffer.from(await res.arrayBuffer());
  const json = res.headers.get('content-type')?.includes('json') && bytes.length ? JSON.parse(bytes.toString('utf8')) : undefined;
  return { status: res.status, headers: res.headers, bytes, json };
}

/** The agent simulator's log of requests to one container's file routes. */
export function fileRequests(fleet: Fleet, vmid?: number): SimRequestRecord[] {
  return fleet.agents.requests.filter((r) => r.path.startsWith('/files') && (vmid === undefined || r.vmid === vmid));
}

/**
 * Marks the agent simulator's request log; `since()` gives what it logged afterwards. Records are
 * told apart by identity, so the log trimming its oldest entries does not shift the answer.
 */
export function markRequests(fleet: Fleet): { since(vmid?: number): SimRequestRecord[] } {
  const seen = new Set(fleet.agents.requests);
  return { since: (vmid) => fleet.agents.requests.filter((r) => !seen.has(r) && (vmid === undefined || r.vmid === vmid)) };
}

export { until } from '../harness';

/** True when the file exists. */
export async function exists(path: string): Promise<boolean> {
  const { stat } = await import('node:fs/promises');
  return stat(path).then(() => true, () => false);
}
